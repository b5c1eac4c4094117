// Package config owns Vigil's runtime configuration: one typed struct, filled
// from environment variables and command-line flags (API.md, "Configuration
// names"), and validated once at start with messages that name the variable
// and the fix. It does not open anything; other packages take a Config.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/urfave/cli/v3"
)

// Config is everything an operator can set.
type Config struct {
	Listen      string
	DataDir     string
	DatabaseURL string
	DBMaxConns  int
	Dev         bool
	SentryDSN   string
	RedisURL    string
	LogLevel    string
	LogFormat   string
	// SignUp allows public sign-up (signUp creates a tenant).
	SignUp bool
	// TLSCert and TLSKey make vigil serve HTTPS (TLS 1.2+) itself.
	TLSCert, TLSKey string
	// CORSOrigins may call the API from a browser with credentials.
	CORSOrigins []string

	ShutdownTimeout time.Duration

	GraphQL GraphQLLimits
	Ingest  IngestLimits
	// AttackFile is MITRE ATT&CK technique data (ids, names) that names the
	// techniques of alerts; empty: techniques carry ids only.
	AttackFile string
	// Introspection is "auto" (on in --dev, off otherwise), "on" or "off".
	Introspection string
}

// GraphQLLimits bound what one GraphQL request may ask for.
type GraphQLLimits struct {
	MaxBodyBytes  int64
	MaxTokens     int
	MaxDepth      int
	MaxAliases    int
	MaxComplexity int
	MaxPageSize   int
	// DefaultPageSize applies to a connection asked for without first or last.
	DefaultPageSize int
}

// IngestLimits bound what one POST /v1/events may carry.
type IngestLimits struct {
	MaxBodyBytes  int64 // after gzip decoding
	MaxEvents     int
	MaxLineBytes  int
	MaxFieldBytes int
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		DataDir:         "./vigil-data",
		DBMaxConns:      20,
		LogLevel:        "info",
		LogFormat:       "json",
		SignUp:          true,
		ShutdownTimeout: 20 * time.Second,
		Introspection:   "auto",
		Ingest: IngestLimits{
			MaxBodyBytes:  16 << 20,
			MaxEvents:     50_000,
			MaxLineBytes:  256 << 10,
			MaxFieldBytes: 32 << 10,
		},
		GraphQL: GraphQLLimits{
			MaxBodyBytes:    1 << 20,
			MaxTokens:       5000,
			MaxDepth:        12,
			MaxAliases:      30,
			MaxComplexity:   5000,
			MaxPageSize:     100,
			DefaultPageSize: 50,
		},
	}
}

// Database names the configured database kind.
func (c *Config) Database() string {
	if c.DatabaseURL == "" {
		return "sqlite"
	}
	return "postgres"
}

// IntrospectionEnabled resolves the introspection setting against the mode.
func (c *Config) IntrospectionEnabled() bool {
	switch c.Introspection {
	case "on":
		return true
	case "off":
		return false
	default:
		return c.Dev
	}
}

// DatabaseFlags are the flags every command that opens the database takes.
func (c *Config) DatabaseFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data-dir", Usage: "directory for the SQLite file, generated keys and stored reports", Value: c.DataDir, Sources: cli.EnvVars("VIGIL_DATA_DIR"), Destination: &c.DataDir},
		&cli.StringFlag{Name: "database-url", Usage: "postgres://… selects PostgreSQL; empty uses SQLite in the data dir", Sources: cli.EnvVars("VIGIL_DATABASE_URL"), Destination: &c.DatabaseURL},
		&cli.IntFlag{Name: "database-max-conns", Usage: "PostgreSQL connection pool size", Value: c.DBMaxConns, Sources: cli.EnvVars("VIGIL_DATABASE_MAX_CONNS"), Destination: &c.DBMaxConns},
		&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error", Value: c.LogLevel, Sources: cli.EnvVars("VIGIL_LOG_LEVEL"), Destination: &c.LogLevel},
		&cli.StringFlag{Name: "log-format", Usage: "json or text", Value: c.LogFormat, Sources: cli.EnvVars("VIGIL_LOG_FORMAT"), Destination: &c.LogFormat},
	}
}

// ServeFlags are the flags of `vigil serve`, on top of DatabaseFlags.
func (c *Config) ServeFlags() []cli.Flag {
	g := &c.GraphQL
	in := &c.Ingest
	return append(c.DatabaseFlags(),
		&cli.StringFlag{Name: "attack-file", Usage: "MITRE ATT&CK techniques JSON (ids, names) to name alert techniques", Sources: cli.EnvVars("VIGIL_ATTACK_FILE"), Destination: &c.AttackFile},
		&cli.Int64Flag{Name: "ingest-max-body-bytes", Usage: "largest POST /v1/events body (after gzip)", Value: in.MaxBodyBytes, Sources: cli.EnvVars("VIGIL_INGEST_MAX_BODY_BYTES"), Destination: &in.MaxBodyBytes},
		&cli.IntFlag{Name: "ingest-max-events", Usage: "most events in one ingest request", Value: in.MaxEvents, Sources: cli.EnvVars("VIGIL_INGEST_MAX_EVENTS"), Destination: &in.MaxEvents},
		&cli.IntFlag{Name: "ingest-max-line-bytes", Usage: "longest NDJSON line (one event)", Value: in.MaxLineBytes, Sources: cli.EnvVars("VIGIL_INGEST_MAX_LINE_BYTES"), Destination: &in.MaxLineBytes},
		&cli.IntFlag{Name: "ingest-max-field-bytes", Usage: "longest string value in an event", Value: in.MaxFieldBytes, Sources: cli.EnvVars("VIGIL_INGEST_MAX_FIELD_BYTES"), Destination: &in.MaxFieldBytes},
		&cli.StringFlag{Name: "listen", Usage: "address of HTTP, GraphQL and websockets", Value: c.Listen, Sources: cli.EnvVars("VIGIL_LISTEN"), Destination: &c.Listen},
		&cli.BoolFlag{Name: "dev", Usage: "development mode: introspection, GraphiQL, detailed errors, cookies without Secure", Sources: cli.EnvVars("VIGIL_DEV"), Destination: &c.Dev},
		&cli.StringFlag{Name: "sentry-dsn", Usage: "send panics and errors to Sentry", Sources: cli.EnvVars("VIGIL_SENTRY_DSN"), Destination: &c.SentryDSN},
		&cli.StringFlag{Name: "redis-url", Usage: "redis://… for shared rate limits and cross-replica pub/sub", Sources: cli.EnvVars("VIGIL_REDIS_URL"), Destination: &c.RedisURL},
		&cli.BoolFlag{Name: "sign-up", Usage: "allow public sign-up (each sign-up creates a tenant)", Value: c.SignUp, Sources: cli.EnvVars("VIGIL_SIGN_UP"), Destination: &c.SignUp},
		&cli.StringFlag{Name: "tls-cert", Usage: "PEM certificate (chain) file: serve HTTPS, TLS 1.2 or newer", Sources: cli.EnvVars("VIGIL_TLS_CERT"), Destination: &c.TLSCert},
		&cli.StringFlag{Name: "tls-key", Usage: "PEM private key file for --tls-cert", Sources: cli.EnvVars("VIGIL_TLS_KEY"), Destination: &c.TLSKey},
		&cli.StringSliceFlag{Name: "cors-origin", Usage: "origin allowed to call the API from a browser, e.g. https://portal.example (repeat or comma-separate)", Sources: cli.EnvVars("VIGIL_CORS_ORIGINS"), Destination: &c.CORSOrigins},
		&cli.DurationFlag{Name: "shutdown-timeout", Usage: "how long a graceful shutdown may take", Value: c.ShutdownTimeout, Sources: cli.EnvVars("VIGIL_SHUTDOWN_TIMEOUT"), Destination: &c.ShutdownTimeout},
		&cli.StringFlag{Name: "graphql-introspection", Usage: "auto (on only with --dev), on or off", Value: c.Introspection, Sources: cli.EnvVars("VIGIL_GRAPHQL_INTROSPECTION"), Destination: &c.Introspection},
		&cli.Int64Flag{Name: "graphql-max-body-bytes", Usage: "largest GraphQL request body", Value: g.MaxBodyBytes, Sources: cli.EnvVars("VIGIL_GRAPHQL_MAX_BODY_BYTES"), Destination: &g.MaxBodyBytes},
		&cli.IntFlag{Name: "graphql-max-tokens", Usage: "most lexical tokens in one document", Value: g.MaxTokens, Sources: cli.EnvVars("VIGIL_GRAPHQL_MAX_TOKENS"), Destination: &g.MaxTokens},
		&cli.IntFlag{Name: "graphql-max-depth", Usage: "deepest selection nesting", Value: g.MaxDepth, Sources: cli.EnvVars("VIGIL_GRAPHQL_MAX_DEPTH"), Destination: &g.MaxDepth},
		&cli.IntFlag{Name: "graphql-max-aliases", Usage: "most aliased fields in one operation", Value: g.MaxAliases, Sources: cli.EnvVars("VIGIL_GRAPHQL_MAX_ALIASES"), Destination: &g.MaxAliases},
		&cli.IntFlag{Name: "graphql-max-complexity", Usage: "highest complexity score of one operation (connections count their page size)", Value: g.MaxComplexity, Sources: cli.EnvVars("VIGIL_GRAPHQL_MAX_COMPLEXITY"), Destination: &g.MaxComplexity},
		&cli.IntFlag{Name: "graphql-max-page-size", Usage: "largest first/last a connection accepts", Value: g.MaxPageSize, Sources: cli.EnvVars("VIGIL_GRAPHQL_MAX_PAGE_SIZE"), Destination: &g.MaxPageSize},
	)
}

// Validate checks every setting and returns all problems at once, each naming
// the variable, what is wrong, and how to fix it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(env, flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (--%s): %s", env, flag, fmt.Sprintf(format, args...)))
	}

	if host, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("VIGIL_LISTEN", "listen", "%q is not host:port (%v); use e.g. 127.0.0.1:8080 or :8080", c.Listen, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("VIGIL_LISTEN", "listen", "port %q is not a number from 0 to 65535", port)
	} else if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		bad("VIGIL_LISTEN", "listen", "host %q is not an IP address or localhost", host)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("VIGIL_DATA_DIR", "data-dir", "is empty; set a directory Vigil may write, e.g. ./vigil-data")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		switch {
		case err != nil:
			bad("VIGIL_DATABASE_URL", "database-url", "is not a URL (%v); use postgres://user:password@host:5432/dbname", redactURLError(err))
		case u.Scheme != "postgres" && u.Scheme != "postgresql":
			bad("VIGIL_DATABASE_URL", "database-url", "scheme %q is not supported; use postgres://user:password@host:5432/dbname, or leave it empty for the embedded SQLite", u.Scheme)
		case u.Host == "" && u.Query().Get("host") == "":
			bad("VIGIL_DATABASE_URL", "database-url", "names no host; use postgres://user:password@host:5432/dbname")
		}
	}
	if c.DBMaxConns < 2 {
		bad("VIGIL_DATABASE_MAX_CONNS", "database-max-conns", "is %d; PostgreSQL needs at least 2 (one is held for LISTEN)", c.DBMaxConns)
	}
	if c.SentryDSN != "" {
		if _, err := sentry.NewDsn(c.SentryDSN); err != nil {
			bad("VIGIL_SENTRY_DSN", "sentry-dsn", "is not a Sentry DSN (%v); copy it from the project's Client Keys page", err)
		}
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("VIGIL_REDIS_URL", "redis-url", "must look like redis://host:6379/0 or rediss://…")
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("VIGIL_LOG_LEVEL", "log-level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		bad("VIGIL_LOG_FORMAT", "log-format", "%q is not one of json, text", c.LogFormat)
	}
	switch c.Introspection {
	case "auto", "on", "off":
	default:
		bad("VIGIL_GRAPHQL_INTROSPECTION", "graphql-introspection", "%q is not one of auto, on, off", c.Introspection)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("VIGIL_TLS_CERT", "tls-cert", "and VIGIL_TLS_KEY (--tls-key) go together; set both or neither")
	}
	for _, o := range c.CORSOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || o == "*" {
			bad("VIGIL_CORS_ORIGINS", "cors-origin", "%q is not an origin like https://portal.example (no paths, no wildcard)", o)
		}
	}
	if c.ShutdownTimeout <= 0 {
		bad("VIGIL_SHUTDOWN_TIMEOUT", "shutdown-timeout", "must be positive, e.g. 20s")
	}
	g := c.GraphQL
	positive := []struct {
		env, flag string
		v         int64
	}{
		{"VIGIL_GRAPHQL_MAX_BODY_BYTES", "graphql-max-body-bytes", g.MaxBodyBytes},
		{"VIGIL_GRAPHQL_MAX_TOKENS", "graphql-max-tokens", int64(g.MaxTokens)},
		{"VIGIL_GRAPHQL_MAX_DEPTH", "graphql-max-depth", int64(g.MaxDepth)},
		{"VIGIL_GRAPHQL_MAX_ALIASES", "graphql-max-aliases", int64(g.MaxAliases)},
		{"VIGIL_GRAPHQL_MAX_COMPLEXITY", "graphql-max-complexity", int64(g.MaxComplexity)},
		{"VIGIL_GRAPHQL_MAX_PAGE_SIZE", "graphql-max-page-size", int64(g.MaxPageSize)},
		{"VIGIL_INGEST_MAX_BODY_BYTES", "ingest-max-body-bytes", c.Ingest.MaxBodyBytes},
		{"VIGIL_INGEST_MAX_EVENTS", "ingest-max-events", int64(c.Ingest.MaxEvents)},
		{"VIGIL_INGEST_MAX_LINE_BYTES", "ingest-max-line-bytes", int64(c.Ingest.MaxLineBytes)},
		{"VIGIL_INGEST_MAX_FIELD_BYTES", "ingest-max-field-bytes", int64(c.Ingest.MaxFieldBytes)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			bad(p.env, p.flag, "is %d; limits cannot be switched off, set a positive number", p.v)
		}
	}
	if g.DefaultPageSize > g.MaxPageSize {
		c.GraphQL.DefaultPageSize = g.MaxPageSize
	}
	return errors.Join(errs...)
}

// redactURLError keeps a password out of an error that quotes the URL.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
