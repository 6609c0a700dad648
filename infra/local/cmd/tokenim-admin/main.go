// Command tokenim-admin holds operator tasks that need no token because
// they write to the deployment's tables directly with your AWS
// credentials. Today: create an app credential (the first admin
// credential of a new deployment, `make credential STACK=<name>`).
//
//	tokenim-admin credential -table <UsersTableName> [-name <label>]
//
// It honours AWS_ENDPOINT_URL, so it works against the local emulator too.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/aws/dynamo"
	"github.com/tokenim/tokenim/shared/awsclient"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "credential" {
		fmt.Fprintln(os.Stderr, "usage: tokenim-admin credential -table <UsersTableName> [-name <label>]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("credential", flag.ExitOnError)
	table := fs.String("table", os.Getenv("USERS_TABLE"), "the users table (stack output UsersTableName)")
	name := fs.String("name", "tokenim-admin", "a label for the credential")
	fs.Parse(os.Args[2:])
	if *table == "" {
		fmt.Fprintln(os.Stderr, "tokenim-admin: -table is required (stack output UsersTableName)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokenim-admin:", err)
		os.Exit(1)
	}
	db := dynamo.New(dynamodb.NewFromConfig(cfg), dynamo.Tables{Users: *table})
	// The same use case the token endpoint authenticates against; no
	// token signer is needed to create a credential, so none is built.
	cred, secret, err := auth.NewService(nil, db.Credentials, db.Users).CreateCredential(ctx, *name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokenim-admin: create credential:", err)
		os.Exit(1)
	}
	// The secret is shown once: it is stored only as a hash.
	json.NewEncoder(os.Stdout).Encode(map[string]string{"key_id": cred.KeyID, "secret": secret})
	fmt.Fprintln(os.Stderr, "Store the secret now: it cannot be shown again. Get an admin token with:")
	fmt.Fprintf(os.Stderr, "  curl -s -d grant_type=client_credentials -u %s:<secret> <RestApiUrl>/v1/auth/token\n", cred.KeyID)
}
