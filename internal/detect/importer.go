package detect

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigilhq/vigil/ent"
	entrule "github.com/vigilhq/vigil/ent/rule"
	"github.com/vigilhq/vigil/internal/pulid"
)

// ImportResult is the outcome for one file of an import.
type ImportResult struct {
	Path    string
	Title   string
	Created bool  // a new rule; false: an earlier import's rule was updated
	Err     error // why the file was not imported
}

// ImportStats sum up an import.
type ImportStats struct {
	Files, Created, Updated, Failed int
}

// ImportSigmaDir loads every Sigma rule (*.yml, *.yaml) under dir into the
// tenant's rules, keyed by the Sigma id so a second import updates rather
// than duplicates. Each file's outcome goes to report as it happens; a file
// that does not load is named with its reason and skipped.
func ImportSigmaDir(ctx context.Context, client *ent.Client, tenantID pulid.ID, dir string, enabled bool, report func(ImportResult)) (ImportStats, error) {
	var st ImportStats
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
			return nil
		}
		st.Files++
		res := ImportResult{Path: path}
		res.Title, res.Created, res.Err = importOne(ctx, client, tenantID, path, enabled)
		switch {
		case res.Err != nil:
			st.Failed++
		case res.Created:
			st.Created++
		default:
			st.Updated++
		}
		if report != nil {
			report(res)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read %s: %w", dir, err)
	}
	return st, nil
}

func importOne(ctx context.Context, client *ent.Client, tenantID pulid.ID, path string, enabled bool) (title string, created bool, err error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	sr, err := CompileSigma(src)
	if err != nil {
		return "", false, err
	}
	key := "sigma:" + sr.ID
	if sr.ID == "" {
		key = "sigma-file:" + filepath.Base(path)
	}
	name := sr.Title
	if name == "" {
		name = filepath.Base(path)
	}
	existing, err := client.Rule.Query().Where(entrule.TenantID(tenantID), entrule.Key(key)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return name, false, err
	}
	if existing != nil {
		err = existing.Update().SetName(truncateName(name)).SetDefinition(string(src)).
			SetSeverity(entrule.Severity(SeverityOfLevel(sr.Level))).SetDescription(truncateDesc(sr.Description)).
			SetTags(mergeTags(sr.Tags, nil)).AddVersion(1).Exec(ctx)
		return name, false, err
	}
	err = client.Rule.Create().SetTenantID(tenantID).SetKey(key).SetName(truncateName(name)).
		SetKind(entrule.KindSIGMA).SetDefinition(string(src)).SetSeverity(entrule.Severity(SeverityOfLevel(sr.Level))).
		SetEnabled(enabled).SetDescription(truncateDesc(sr.Description)).SetTags(mergeTags(sr.Tags, nil)).
		Exec(ctx)
	return name, err == nil, err
}

func truncateName(s string) string { return truncateRunes(s, 300) }
func truncateDesc(s string) string { return truncateRunes(s, 4000) }

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
