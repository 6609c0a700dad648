package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Profile is where the API is and how to authenticate to it.
type Profile struct {
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	KeyID    string `yaml:"key_id" json:"key_id"`
	Secret   string `yaml:"secret,omitempty" json:"-"`
	// Token is a ready admin token (no refresh); normally empty.
	Token string `yaml:"-" json:"-"`
	// WebSocket is the WebSocket API URL (tokenim chat).
	WebSocket string `yaml:"websocket_url,omitempty" json:"websocket_url,omitempty"`
}

// ProfileFile is the profile file (configPath): named profiles and which
// one is used when none is named.
type ProfileFile struct {
	Default  string             `yaml:"default,omitempty"`
	Profiles map[string]Profile `yaml:"profiles"`
}

// configPath is TOKENIM_CONFIG, else <user config dir>/tokenim/profiles.yaml.
func configPath() (string, error) {
	if p := os.Getenv("TOKENIM_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "tokenim", "profiles.yaml"), nil
}

func loadProfileFile() (ProfileFile, string, error) {
	path, err := configPath()
	if err != nil {
		return ProfileFile{}, "", err
	}
	var f ProfileFile
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ProfileFile{Profiles: map[string]Profile{}}, path, nil
	}
	if err != nil {
		return f, path, err
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return f, path, fmt.Errorf("%s: %w", path, err)
	}
	if f.Profiles == nil {
		f.Profiles = map[string]Profile{}
	}
	return f, path, nil
}

// save writes the file with mode 0600: it holds secrets.
func (f ProfileFile) save(path string) error {
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// localInfo is the part of make dev's .tokenim/local.json the CLI uses.
type localInfo struct {
	RESTURL      string `json:"rest_url"`
	WebSocketURL string `json:"websocket_url"`
	Admin        struct {
		KeyID  string `json:"key_id"`
		Secret string `json:"secret"`
	} `json:"admin"`
}

// localPath finds make dev's local.json: $TOKENIM_STATE/local.json, else
// .tokenim/local.json in this directory or the nearest parent that has one
// (so the CLI works from anywhere inside the checkout).
func localPath() (string, error) {
	if d := os.Getenv("TOKENIM_STATE"); d != "" {
		return filepath.Join(d, "local.json"), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ".tokenim", "local.json")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("--local: no .tokenim/local.json here or in a parent directory: start make dev (or set TOKENIM_STATE)")
		}
		dir = parent
	}
}

func loadLocal() (Profile, error) {
	path, err := localPath()
	if err != nil {
		return Profile{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("--local: %w (is make dev running?)", err)
	}
	var li localInfo
	if err := json.Unmarshal(b, &li); err != nil {
		return Profile{}, fmt.Errorf("--local: %s: %w", path, err)
	}
	return Profile{Endpoint: li.RESTURL, KeyID: li.Admin.KeyID, Secret: li.Admin.Secret, WebSocket: li.WebSocketURL}, nil
}

// globalFlags are the connection flags every command takes.
type globalFlags struct {
	profile  string
	local    bool
	endpoint string
	keyID    string
	secret   string
	token    string
	output   string
}

// resolve builds the profile: the base is --local, or the named profile
// (--profile, TOKENIM_PROFILE, the file's default); then the environment
// (TOKENIM_ENDPOINT, TOKENIM_KEY_ID, TOKENIM_SECRET, TOKENIM_TOKEN), then
// flags override field by field.
func (g globalFlags) resolve() (Profile, error) {
	var p Profile
	switch {
	case g.local:
		lp, err := loadLocal()
		if err != nil {
			return p, err
		}
		p = lp
	default:
		f, path, err := loadProfileFile()
		if err != nil {
			return p, err
		}
		name := firstNonEmpty(g.profile, os.Getenv("TOKENIM_PROFILE"))
		if name == "" {
			name = f.Default
		}
		if name != "" {
			fp, ok := f.Profiles[name]
			if !ok {
				return p, fmt.Errorf("no profile %q in %s", name, path)
			}
			p = fp
		}
	}
	p.Endpoint = firstNonEmpty(g.endpoint, os.Getenv("TOKENIM_ENDPOINT"), p.Endpoint)
	p.KeyID = firstNonEmpty(g.keyID, os.Getenv("TOKENIM_KEY_ID"), p.KeyID)
	p.Secret = firstNonEmpty(g.secret, os.Getenv("TOKENIM_SECRET"), p.Secret)
	p.Token = firstNonEmpty(g.token, os.Getenv("TOKENIM_TOKEN"), p.Token)
	if p.Endpoint == "" {
		return p, errors.New("no endpoint: give --endpoint, TOKENIM_ENDPOINT, a profile (tokenim profile set), or --local")
	}
	return p, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
