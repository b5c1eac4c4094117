package authz_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vigilhq/vigil/internal/authz"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/pulid"
)

func ExampleAuthz_Can() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "authz-example")
	defer os.RemoveAll(dir)
	db, err := database.OpenSQLite(ctx, filepath.Join(dir, database.SQLiteFile))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, nil); err != nil {
		panic(err)
	}

	az, err := authz.New(ctx, db, authz.Options{}) // seeds the matrix on first use
	if err != nil {
		panic(err)
	}
	// In production, go az.Watch(ctx) keeps it current across replicas.
	acme := pulid.New("tnt")
	fmt.Println(az.Can(authz.Analyst, acme, authz.AlertTriage))
	fmt.Println(az.Can(authz.Auditor, acme, authz.AlertTriage))

	// One tenant lets its auditors triage too.
	if err := az.Grant(ctx, authz.Auditor, string(acme), authz.AlertTriage); err != nil {
		panic(err)
	}
	fmt.Println(az.Can(authz.Auditor, acme, authz.AlertTriage))
	fmt.Println(az.Can(authz.Auditor, pulid.New("tnt"), authz.AlertTriage))
	fmt.Println(az.Permissions(authz.Partner, acme))
	// Output:
	// true
	// false
	// true
	// false
	// [alert:subscribe event:write]
}
