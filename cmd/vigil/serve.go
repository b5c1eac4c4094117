package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/vigilhq/vigil/ent/user"
	"github.com/vigilhq/vigil/graph"
	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/authz"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/keyring"
	"github.com/vigilhq/vigil/internal/observe"
	"github.com/vigilhq/vigil/internal/ratelimit"
	"github.com/vigilhq/vigil/internal/server"
	"github.com/vigilhq/vigil/jobs"
)

func serveCommand(cfg *config.Config) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the API, websockets, jobs and portal",
		Description: "Opens the database (SQLite in --data-dir unless VIGIL_DATABASE_URL names PostgreSQL),\n" +
			"creates keys on first start, applies migrations, starts the job workers and serves HTTP\n" +
			"until SIGTERM or Ctrl-C, then shuts down gracefully.",
		Flags: cfg.ServeFlags(),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			return serve(ctx, *cfg, cmd.Root().ErrWriter)
		},
	}
}

func serve(ctx context.Context, cfg config.Config, out io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := observe.NewLogger(os.Stdout, cfg.LogLevel, cfg.LogFormat)

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("VIGIL_DATA_DIR: cannot create %s: %w", cfg.DataDir, err)
	}
	keys, created, err := keyring.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return err
	}
	for _, f := range created {
		log.Info("generated key", "file", f)
	}

	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: cfg.DBMaxConns})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, log); err != nil {
		return err
	}

	metrics := observe.NewMetrics()
	metrics.RegisterDB(db.SQL, "vigil")
	reporter, err := observe.NewReporter(cfg.SentryDSN, buildVersion(), mode(cfg))
	if err != nil {
		return err
	}
	limiter, closeLimiter, err := ratelimit.New(ctx, cfg.RedisURL, "vigil:")
	if err != nil {
		return err
	}
	defer closeLimiter()
	signing := []auth.SigningKey{{ID: keys.SigningKeyID, Private: keys.Signing}}
	for _, r := range keys.Retired {
		signing = append(signing, auth.SigningKey{ID: r.ID, Private: r.Key})
	}
	issuer, err := auth.NewIssuer(signing, auth.IssuerOptions{})
	if err != nil {
		return err
	}
	authSvc, err := auth.NewService(db, issuer, auth.Options{
		SignUp:   cfg.SignUp,
		Throttle: ratelimit.NewLoginThrottle(limiter, ratelimit.DefaultLoginPerAccount, ratelimit.DefaultLoginPerIP),
	})
	if err != nil {
		return err
	}
	policies, err := authz.New(ctx, db, authz.Options{Logger: log})
	if err != nil {
		return err
	}
	go policies.Watch(ctx)
	pipeline, err := server.NewPipeline(db, cfg, log)
	if err != nil {
		return err
	}
	reg := jobs.NewRegistry()
	jobs.RegisterPlatform(reg, db)
	jobs.RegisterDetection(reg, db, pipeline.Engine, metrics)
	// Score jobs must start at once: SQLite has no notifications, and River
	// debounces PostgreSQL's insert notifications (jobs enqueued within 100 ms
	// of another wait for the next poll), so poll every 100 ms rather than
	// River's 1 s. The benchmark showed 1 s alert latency with the default.
	jc, err := jobs.NewClient(db, reg, jobs.Options{Logger: log, Metrics: metrics, Reporter: reporter, FetchPoll: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Deps{
		Config: cfg, DB: db, Jobs: jc, Logger: log, Metrics: metrics, Reporter: reporter, Version: buildVersion(),
		Auth: authSvc, Authz: graph.Policies(policies), Limiter: limiter, Pipeline: pipeline,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("VIGIL_LISTEN: cannot listen on %s: %w", cfg.Listen, err)
	}
	printBanner(ctx, out, cfg, db, keys, ln.Addr().String())
	return srv.Run(ctx, ln)
}

func mode(cfg config.Config) string {
	if cfg.Dev {
		return "development"
	}
	return "production"
}

// printBanner says, in a few lines, where everything is and how to get in.
func printBanner(ctx context.Context, out io.Writer, cfg config.Config, db *database.DB, keys *keyring.Keys, addr string) {
	scheme := "http://"
	if cfg.TLSCert != "" {
		scheme = "https://"
	}
	base := scheme + displayAddr(addr)
	where := "PostgreSQL"
	if db.Path != "" {
		where = "SQLite " + db.Path
	}
	fmt.Fprintf(out, "\nVigil %s (%s mode) on %s\n", buildVersion(), mode(cfg), where)
	fmt.Fprintf(out, "  GraphQL API  %s/graphql%s\n", base, map[bool]string{true: "  (GraphiQL in a browser)"}[cfg.Dev])
	fmt.Fprintf(out, "  Portal       %s/\n", base)
	fmt.Fprintf(out, "  Metrics      %s/metrics   Health %s/healthz   Ready %s/readyz\n", base, base, base)
	fmt.Fprintf(out, "  Keys         %s\n", keys.Dir)
	sys := caller.With(ctx, caller.System("banner"))
	if n, err := db.Ent.User.Query().Where(user.Superadmin(true)).Count(sys); err == nil && n == 0 {
		cmd := "vigil user create --email you@example.com --superadmin"
		if db.Path != "" && cfg.DataDir != config.Defaults().DataDir {
			cmd += " --data-dir " + cfg.DataDir
		}
		fmt.Fprintf(out, "  First sign-in: no administrator yet. Create one (it prints a one-time password):\n      %s\n", cmd)
	}
	fmt.Fprintln(out)
}

func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}
