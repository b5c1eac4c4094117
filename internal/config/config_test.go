package config

import (
	"strings"
	"testing"
)

func TestDefaultsAreValid(t *testing.T) {
	t.Parallel()
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if c.Database() != "sqlite" || c.IntrospectionEnabled() {
		t.Fatalf("defaults should be SQLite without introspection")
	}
}

func TestValidateNamesVariableAndFix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"listen", func(c *Config) { c.Listen = "8080" }, []string{"VIGIL_LISTEN", "--listen", "127.0.0.1:8080"}},
		{"listen port", func(c *Config) { c.Listen = "127.0.0.1:http" }, []string{"VIGIL_LISTEN", "port"}},
		{"database scheme", func(c *Config) { c.DatabaseURL = "mysql://root@localhost/vigil" }, []string{"VIGIL_DATABASE_URL", `"mysql"`, "postgres://"}},
		{"database password not echoed", func(c *Config) { c.DatabaseURL = "postgres://u:s3cret@host:99999999/db\x7f" }, []string{"VIGIL_DATABASE_URL"}},
		{"sentry", func(c *Config) { c.SentryDSN = "not a dsn" }, []string{"VIGIL_SENTRY_DSN"}},
		{"redis", func(c *Config) { c.RedisURL = "http://x" }, []string{"VIGIL_REDIS_URL", "redis://"}},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, []string{"VIGIL_LOG_LEVEL", "debug, info"}},
		{"limit off", func(c *Config) { c.GraphQL.MaxDepth = 0 }, []string{"VIGIL_GRAPHQL_MAX_DEPTH", "cannot be switched off"}},
		{"introspection", func(c *Config) { c.Introspection = "yes" }, []string{"VIGIL_GRAPHQL_INTROSPECTION"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted a bad setting")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the database password: %q", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Listen = "nope"
	c.LogFormat = "xml"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "VIGIL_LISTEN") || !strings.Contains(err.Error(), "VIGIL_LOG_FORMAT") {
		t.Fatalf("want both problems reported, got %v", err)
	}
}
