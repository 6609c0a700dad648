package main

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// call runs one admin API call and prints its JSON reply with show.
func (a *app) call(cmd *cobra.Command, r Request, show func(printer, map[string]any) error) error {
	c, p, err := a.clientAndPrinter()
	if err != nil {
		return err
	}
	var reply map[string]any
	if _, err := c.Do(cmd.Context(), r, &reply); err != nil {
		return err
	}
	if reply == nil { // 204 No Content
		if p.json {
			return p.raw(map[string]any{})
		}
		return nil
	}
	return show(p, reply)
}

func showObject(order ...string) func(printer, map[string]any) error {
	return func(p printer, v map[string]any) error { return p.object(v, order...) }
}

func showList(key string, cols ...string) func(printer, map[string]any) error {
	return func(p printer, v map[string]any) error {
		if err := p.list(v, rowsOf(v, key), cols...); err != nil {
			return err
		}
		if next, _ := v["next_cursor"].(string); next != "" && !p.json {
			fmt.Fprintf(p.w, "next page: --cursor %s\n", next)
		}
		return nil
	}
}

var (
	userFields  = []string{"user_id", "nickname", "avatar_url", "metadata", "created_at", "updated_at"}
	groupFields = []string{"group_id", "name", "owner_id", "member_count", "conversation_id", "avatar_url", "metadata", "created_at", "updated_at"}
	jobFields   = []string{"job_id", "kind", "format", "state", "total", "created", "failed", "pending", "invalid", "chunks", "chunks_done", "created_at", "started_at", "finished_at"}
)

// pathEscape escapes one path segment (ids may hold '@' and '.').
func pathEscape(s string) string { return url.PathEscape(s) }

// metadataFlag parses repeated key=value flags.
func metadataFlag(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--metadata %q: use key=value", kv)}
		}
		m[k] = v
	}
	return m, nil
}

func pageQuery(limit int, cursor string) string {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func (a *app) usersCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Create, show, list, update and delete users"}
	var nickname, avatar string
	var meta []string
	create := &cobra.Command{Use: "create USER_ID", Short: "Create a user", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := metadataFlag(meta)
			if err != nil {
				return err
			}
			body := map[string]any{"user_id": args[0]}
			setIf(body, "nickname", nickname)
			setIf(body, "avatar_url", avatar)
			if m != nil {
				body["metadata"] = m
			}
			return a.call(cmd, Request{Method: "POST", Path: "/v1/users", JSON: body}, showObject(userFields...))
		}}
	create.Flags().StringVar(&nickname, "nickname", "", "display name")
	create.Flags().StringVar(&avatar, "avatar-url", "", "avatar URL")
	create.Flags().StringArrayVar(&meta, "metadata", nil, "metadata key=value (repeatable)")

	var uNick, uAvatar string
	var uMeta []string
	update := &cobra.Command{Use: "update USER_ID", Short: "Change a user's profile (only the flags given)", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := patchBody(cmd, map[string]*string{"nickname": &uNick, "avatar-url": &uAvatar}, uMeta)
			if err != nil {
				return err
			}
			return a.call(cmd, Request{Method: "PATCH", Path: "/v1/users/" + pathEscape(args[0]), JSON: body}, showObject(userFields...))
		}}
	update.Flags().StringVar(&uNick, "nickname", "", "display name")
	update.Flags().StringVar(&uAvatar, "avatar-url", "", "avatar URL")
	update.Flags().StringArrayVar(&uMeta, "metadata", nil, "metadata key=value (repeatable; replaces all metadata)")

	get := &cobra.Command{Use: "get USER_ID", Short: "Show a user", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "GET", Path: "/v1/users/" + pathEscape(args[0])}, showObject(userFields...))
		}}
	var limit int
	var cursor string
	list := &cobra.Command{Use: "list", Short: "List users, one page", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "GET", Path: "/v1/users" + pageQuery(limit, cursor)},
				showList("users", "user_id", "nickname", "created_at"))
		}}
	list.Flags().IntVar(&limit, "limit", 0, "page size (1-100, default 50)")
	list.Flags().StringVar(&cursor, "cursor", "", "next_cursor of the previous page")
	del := &cobra.Command{Use: "delete USER_ID", Short: "Delete a user", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "DELETE", Path: "/v1/users/" + pathEscape(args[0])}, showObject())
		}}
	cmd.AddCommand(create, get, list, update, del)
	return cmd
}

// patchBody builds a PATCH body from the flags given on the command line
// only (an omitted field keeps its value): each string flag sets the JSON
// field of its name with "_" for "-", --metadata replaces the metadata.
func patchBody(cmd *cobra.Command, strs map[string]*string, meta []string) (map[string]any, error) {
	body := map[string]any{}
	names := []string{"--metadata"}
	for flag, v := range strs {
		names = append(names, "--"+flag)
		if cmd.Flags().Changed(flag) {
			body[strings.ReplaceAll(flag, "-", "_")] = *v
		}
	}
	if cmd.Flags().Changed("metadata") {
		m, err := metadataFlag(meta)
		if err != nil {
			return nil, err
		}
		body["metadata"] = m
	}
	if len(body) == 0 {
		sort.Strings(names)
		return nil, usageError{fmt.Errorf("nothing to change: give %s", strings.Join(names, ", "))}
	}
	return body, nil
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func (a *app) groupsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "groups", Short: "Create, show, update and delete groups"}
	var owner, name, avatar string
	var members, meta []string
	create := &cobra.Command{Use: "create GROUP_ID", Short: "Create a group", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := metadataFlag(meta)
			if err != nil {
				return err
			}
			body := map[string]any{"group_id": args[0], "owner_id": owner}
			setIf(body, "name", name)
			setIf(body, "avatar_url", avatar)
			if len(members) > 0 {
				body["members"] = members
			}
			if m != nil {
				body["metadata"] = m
			}
			return a.call(cmd, Request{Method: "POST", Path: "/v1/groups", JSON: body}, showObject(groupFields...))
		}}
	create.Flags().StringVar(&owner, "owner", "", "owner's user id (required)")
	create.Flags().StringVar(&name, "name", "", "group name")
	create.Flags().StringVar(&avatar, "avatar-url", "", "avatar URL")
	create.Flags().StringSliceVar(&members, "members", nil, "initial members besides the owner (comma-separated or repeated)")
	create.Flags().StringArrayVar(&meta, "metadata", nil, "metadata key=value (repeatable)")
	create.MarkFlagRequired("owner")

	var uName, uAvatar string
	var uMeta []string
	update := &cobra.Command{Use: "update GROUP_ID", Short: "Change a group's name, avatar or metadata", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := patchBody(cmd, map[string]*string{"name": &uName, "avatar-url": &uAvatar}, uMeta)
			if err != nil {
				return err
			}
			return a.call(cmd, Request{Method: "PATCH", Path: "/v1/groups/" + pathEscape(args[0]), JSON: body}, showObject(groupFields...))
		}}
	update.Flags().StringVar(&uName, "name", "", "group name")
	update.Flags().StringVar(&uAvatar, "avatar-url", "", "avatar URL")
	update.Flags().StringArrayVar(&uMeta, "metadata", nil, "metadata key=value (repeatable; replaces all metadata)")
	get := &cobra.Command{Use: "get GROUP_ID", Short: "Show a group", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "GET", Path: "/v1/groups/" + pathEscape(args[0])}, showObject(groupFields...))
		}}
	del := &cobra.Command{Use: "delete GROUP_ID", Short: "Delete a group", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "DELETE", Path: "/v1/groups/" + pathEscape(args[0])}, showObject())
		}}
	var newOwner string
	transfer := &cobra.Command{Use: "transfer GROUP_ID --to USER_ID", Short: "Make another member the owner", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "POST", Path: "/v1/groups/" + pathEscape(args[0]) + "/transfer",
				JSON: map[string]any{"user_id": newOwner}}, showObject(groupFields...))
		}}
	transfer.Flags().StringVar(&newOwner, "to", "", "the new owner's user id (required)")
	transfer.MarkFlagRequired("to")
	cmd.AddCommand(create, get, update, del, transfer)
	return cmd
}

func (a *app) membersCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "members", Short: "List, add, change and remove group members"}
	add := &cobra.Command{Use: "add GROUP_ID USER_ID...", Short: "Add up to 100 users to a group", Args: usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "POST", Path: "/v1/groups/" + pathEscape(args[0]) + "/members",
				JSON: map[string]any{"user_ids": args[1:]}}, showObject("added", "already_members"))
		}}
	var limit int
	var cursor string
	list := &cobra.Command{Use: "list GROUP_ID", Short: "List a group's members, one page", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "GET", Path: "/v1/groups/" + pathEscape(args[0]) + "/members" + pageQuery(limit, cursor)},
				showList("members", "user_id", "role", "muted", "joined_at"))
		}}
	list.Flags().IntVar(&limit, "limit", 0, "page size (1-100, default 50)")
	list.Flags().StringVar(&cursor, "cursor", "", "next_cursor of the previous page")
	var role string
	var muted bool
	update := &cobra.Command{Use: "update GROUP_ID USER_ID", Short: "Change a member's role or mute it", Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("role") {
				body["role"] = role
			}
			if cmd.Flags().Changed("muted") {
				body["muted"] = muted
			}
			if len(body) == 0 {
				return usageError{fmt.Errorf("nothing to change: give --role or --muted")}
			}
			return a.call(cmd, Request{Method: "PATCH", Path: "/v1/groups/" + pathEscape(args[0]) + "/members/" + pathEscape(args[1]), JSON: body},
				showObject("group_id", "user_id", "role", "muted", "joined_at"))
		}}
	update.Flags().StringVar(&role, "role", "", "owner, admin or member")
	update.Flags().BoolVar(&muted, "muted", false, "mute (--muted) or unmute (--muted=false)")
	remove := &cobra.Command{Use: "remove GROUP_ID USER_ID", Short: "Remove a member", Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "DELETE", Path: "/v1/groups/" + pathEscape(args[0]) + "/members/" + pathEscape(args[1])}, showObject())
		}}
	cmd.AddCommand(add, list, update, remove)
	return cmd
}

func (a *app) tokensCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Mint user access tokens"}
	var ttl int
	create := &cobra.Command{Use: "create USER_ID", Short: "Mint an access token for a user", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body any
			if ttl > 0 {
				body = map[string]any{"ttl_seconds": ttl}
			}
			return a.call(cmd, Request{Method: "POST", Path: "/v1/users/" + pathEscape(args[0]) + "/tokens", JSON: body},
				showObject("user_id", "access_token", "token_type", "expires_in", "expires_at"))
		}}
	create.Flags().IntVar(&ttl, "ttl", 0, "lifetime in seconds (60 to 2592000; default 86400)")
	cmd.AddCommand(create)
	return cmd
}

// credentialFields are a Credential's (docs/openapi.yaml), the secret
// first when a create shows it.
var credentialFields = []string{"key_id", "secret", "name", "scopes", "disabled", "created_at", "created_by", "updated_at"}

func (a *app) credentialsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "credentials", Short: "Create, list, disable, enable and delete app credentials"}
	var name string
	var scopes []string
	create := &cobra.Command{Use: "create", Short: "Create an app credential (the secret is shown once)", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			setIf(body, "name", name)
			if cmd.Flags().Changed("scopes") {
				body["scopes"] = scopes
			}
			return a.call(cmd, Request{Method: "POST", Path: "/v1/credentials", JSON: body}, showObject(credentialFields...))
		}}
	create.Flags().StringVar(&name, "name", "", "a label for the credential")
	create.Flags().StringSliceVar(&scopes, "scopes", nil,
		"its scopes, comma-separated or repeated (docs/permissions.md; default: the creating credential's own)")
	var limit int
	var cursor string
	list := &cobra.Command{Use: "list", Short: "List app credentials, one page (never their secrets)", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "GET", Path: "/v1/credentials" + pageQuery(limit, cursor)},
				showList("credentials", "key_id", "name", "scopes", "disabled", "created_at"))
		}}
	list.Flags().IntVar(&limit, "limit", 0, "page size (1-100, default 50)")
	list.Flags().StringVar(&cursor, "cursor", "", "next_cursor of the previous page")
	setDisabled := func(use, short string, disabled bool) *cobra.Command {
		return &cobra.Command{Use: use + " KEY_ID", Short: short, Args: usageArgs(cobra.ExactArgs(1)),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.call(cmd, Request{Method: "PATCH", Path: "/v1/credentials/" + pathEscape(args[0]),
					JSON: map[string]any{"disabled": disabled}}, showObject(credentialFields...))
			}}
	}
	disable := setDisabled("disable", "Disable a credential: no new tokens, and its tokens are refused from their next request", true)
	enable := setDisabled("enable", "Enable a disabled credential again", false)
	del := &cobra.Command{Use: "delete KEY_ID", Short: "Delete a credential (its tokens are refused from their next request)",
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.call(cmd, Request{Method: "DELETE", Path: "/v1/credentials/" + pathEscape(args[0])}, showObject())
		}}
	cmd.AddCommand(create, list, disable, enable, del)
	return cmd
}

func (a *app) profileCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Manage connection profiles (the profile file: TOKENIM_CONFIG or <config dir>/tokenim/profiles.yaml)"}
	var makeDefault bool
	var wsURL string
	set := &cobra.Command{Use: "set NAME --endpoint URL [--key-id ID --secret SECRET]", Short: "Create or replace a profile from the connection flags",
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, path, err := loadProfileFile()
			if err != nil {
				return err
			}
			p := Profile{Endpoint: a.flags.endpoint, KeyID: a.flags.keyID, Secret: a.flags.secret, WebSocket: wsURL}
			if p.Endpoint == "" {
				return usageError{fmt.Errorf("--endpoint is required")}
			}
			f.Profiles[args[0]] = p
			if makeDefault || f.Default == "" {
				f.Default = args[0]
			}
			if err := f.save(path); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "profile %s saved in %s\n", args[0], path)
			return nil
		}}
	set.Flags().BoolVar(&makeDefault, "default", false, "use this profile when none is named")
	set.Flags().StringVar(&wsURL, "websocket-url", "", "WebSocket API URL for tokenim chat (the stack output WebSocketUrl)")
	list := &cobra.Command{Use: "list", Short: "List profiles (secrets are not shown)", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, _, err := loadProfileFile()
			if err != nil {
				return err
			}
			pr, err := a.printer()
			if err != nil {
				return err
			}
			var rows []map[string]any
			for name, v := range f.Profiles {
				rows = append(rows, map[string]any{"name": name, "endpoint": v.Endpoint, "key_id": v.KeyID, "default": name == f.Default})
			}
			sortRows(rows, "name")
			return pr.list(rows, rows, "name", "endpoint", "key_id", "default")
		}}
	cmd.AddCommand(set, list)
	return cmd
}
