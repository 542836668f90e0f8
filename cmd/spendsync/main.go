// Command spendsync keeps Visma ProActive Spend Cloud in step with HR.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/phase"
	"github.com/spendsync/spendsync/internal/show"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// Exit codes, as docs/reference.md and the man pages document them.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitSafety   = 3
	exitLocked   = 4
	exitRejected = 5
)

// globals are the flags every command has.
type globals struct {
	configPath string
	logFormat  string
	verbose    bool
	quiet      bool
	stdout     io.Writer
	stderr     io.Writer
	log        *slog.Logger
	// redact hides the values ${VAR} put into the loaded config, in the
	// final error message of any command that loaded it.
	redact func(string) string
}

// redacted is an error shown with another text.
type redacted struct {
	err  error
	text string
}

func (e redacted) Error() string { return e.text }
func (e redacted) Unwrap() error { return e.err }

// usageError is a bad flag or argument: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := notifySignals(context.Background(), os.Stderr, os.Exit)
	stopProfiles := startProfiles()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfiles()
	stop()
	os.Exit(code)
}

// notifySignals returns a context that SIGINT or SIGTERM ends: every phase
// then stops within seconds, leaving nothing half-done. A second signal
// exits at once (exit 1, as a stopped run does): what it cuts off is what
// a kill leaves, which the database's journal and the next run's cleanup
// of temporary files handle.
func notifySignals(parent context.Context, stderr io.Writer, exit func(int)) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "spendsync: error: stopped at once by a second signal; the next run completes what this one cut off")
			exit(exitFailed)
		case <-done:
		}
	}()
	var once bool
	return ctx, func() {
		if !once {
			once = true
			signal.Stop(sigs)
			close(done)
			cancel()
		}
	}
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && !errors.As(err, new(*usageError)) {
		// cobra resolves the words to a command (Find) before anything
		// runs, and says so in an untyped error: when the same words do
		// not resolve now, that is where err came from, a command that
		// does not exist.
		if _, _, ferr := root.Find(args); ferr != nil {
			err = &usageError{err}
		}
	}
	code := exitCode(err)
	if err != nil && g.redact != nil {
		// A value from the environment (a secret in a path, say) that a
		// run-time error quotes is shown as its ${VAR}, as config errors
		// show it; the error keeps its type for the exit code above.
		err = redacted{err, g.redact(err.Error())}
	}
	switch {
	case err == nil:
	case code == exitRejected:
		fmt.Fprintf(stderr, "spendsync: warning: %s\n", show.Line(err.Error()))
	case ctx.Err() != nil && code == exitFailed:
		// SIGINT or SIGTERM: whatever was cut off is not applied, and the
		// wrapped "context canceled" alone would not say why.
		fmt.Fprintf(stderr, "spendsync: error: stopped by a signal before the end; what was cut off was not applied: %s\n", show.Line(err.Error()))
	default:
		// Every message is escaped once more as a whole: a value that
		// reached it unescaped cannot put a control character on stderr.
		fmt.Fprintf(stderr, "spendsync: error: %s\n", show.Line(err.Error()))
		if code == exitUsage && !errors.As(err, new(*configError)) {
			path := "spendsync"
			if cmd != nil {
				path = cmd.CommandPath()
			}
			fmt.Fprintf(stderr, "spendsync: hint: see %s --help\n", path)
		}
	}
	return code
}

// exitCode maps an error to the documented exit codes, in one place.
func exitCode(err error) int {
	var ue *usageError
	var ce *configError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.As(err, &ce), errors.As(err, new(*fault.KeyError)), errors.Is(err, lifecycle.ErrNewerSchema):
		return exitUsage
	case errors.Is(err, fault.ErrSafetyStop), errors.Is(err, connector.ErrStale), errors.Is(err, errStaleDelivery):
		return exitSafety
	case errors.Is(err, lifecycle.ErrLocked):
		return exitLocked
	case errors.As(err, new(*pipeline.ConnectError)):
		// A SCIM failure beside rejected rows is still a failure.
		return exitFailed
	case errors.Is(err, pipeline.ErrRejected), errors.Is(err, pipeline.ErrHeld), errors.As(err, new(*findingsError)):
		return exitRejected
	}
	return exitFailed
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "spendsync",
		Short: "Keep Visma ProActive Spend Cloud in step with HR",
		Long: `spendsync reads HR exports, records every joiner, mover and leaver as events
in SQLite, writes the daily full dump of persons and roles for Spend Cloud,
and delivers it over SFTP.`,
		Example: `  spendsync init --config /etc/spendsync/spendsync.yaml
  spendsync ingest --dry-run -v
  spendsync run`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.setup()
		},
	}
	def := os.Getenv("SPENDSYNC_CONFIG")
	if def == "" {
		def = "spendsync.yaml"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.configPath, "config", def, "config file (env SPENDSYNC_CONFIG)")
	pf.StringVar(&g.logFormat, "log-format", "", "text or json (default: text on a terminal, json otherwise)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log each event and more detail")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "log only warnings and errors")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{flagError(err)} })
	root.AddCommand(newInitCommand(g), newIngestCommand(g), newEventsCommand(g), newRejectsCommand(g),
		newPersonCommand(g), newStatusCommand(g), newVersionCommand(), newExportCommand(g), newDiffCommand(g),
		newMigrateCommand(g), newDomainsCommand(g), newPushCommand(g), newRunCommand(g), newHostkeyCommand(g), newKeygenCommand(g),
		newPruneCommand(g), newBackupCommand(g), newManCommand(g), newProfilesCommand(g), newReportCommand(g), newReconcileCommand(g))
	root.Version = versionText()
	root.SetVersionTemplate("{{.Version}}")
	// Cobra's completion commands keep the writer they see now.
	if g.stdout != nil {
		root.SetOut(g.stdout)
		root.SetErr(g.stderr)
	}
	addCompletions(root, g)
	usageArgs(root)
	return root
}

// usageArgs makes every failed check of positional arguments in c's tree a
// usage error (exit 2), whoever wrote the check: cobra's own completion
// commands use cobra.NoArgs. Bad flags are one already (SetFlagErrorFunc).
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			err := check(cmd, args)
			if err != nil && !errors.As(err, new(*usageError)) {
				err = &usageError{err}
			}
			return err
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// setup builds the logger: logs and progress go to stderr, data to stdout.
func (g *globals) setup() error {
	if g.verbose && g.quiet {
		return &usageError{errors.New("--verbose and --quiet exclude each other")}
	}
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	} else if g.quiet {
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	format := g.logFormat
	if format == "" {
		format = "json"
		if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(g.stderr, opts)
	case "json":
		h = slog.NewJSONHandler(g.stderr, opts)
	default:
		return &usageError{fmt.Errorf("--log-format must be text or json, not %q", format)}
	}
	g.log = slog.New(redactHandler{h, g})
	return nil
}

// redactHandler hides the values ${VAR} put into the config in every log
// line, once a command has loaded it (g.redact): a rejected row's file
// or a retried request's path may be built from one.
type redactHandler struct {
	slog.Handler
	g *globals
}

func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	redact := h.g.redact
	if redact == nil {
		return h.Handler.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a, redact))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return redactHandler{h.Handler.WithAttrs(attrs), h.g}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{h.Handler.WithGroup(name), h.g}
}

func redactAttr(a slog.Attr, redact func(string) string) slog.Attr {
	switch v := a.Value.Resolve(); v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redact(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			out[i] = redactAttr(g, redact)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, redact(err.Error()))
		}
	}
	return a
}

// progress returns a progress bar factory when stderr is a terminal and
// not -q; otherwise nil (no bars in cron logs).
func (g *globals) progress(verb string) func(name string, size int64) io.Writer {
	f, ok := g.stderr.(*os.File)
	if !ok || g.quiet || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(name string, size int64) io.Writer {
		return progressbar.NewOptions64(size, progressbar.OptionSetWriter(g.stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription(verb+" "+filepath.Base(name)), progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond))
	}
}

// flagError says what a flag expects instead of passing on the parser's
// words ("strconv.ParseInt: parsing ...").
func flagError(err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return err
	}
	f := ive.GetFlag()
	why := ive.Unwrap().Error()
	switch f.Value.Type() {
	case "int", "int64", "int32", "uint", "uint64", "count":
		why = "expects a whole number"
	case "bool":
		why = "expects true or false"
	case "string":
	default:
		if errors.As(ive.Unwrap(), new(*strconv.NumError)) {
			why = "expects a number"
		}
	}
	return fmt.Errorf("--%s %s: %s", f.Name, show.Quote(ive.GetValue()), why)
}

// phases reports long phases: bars on a terminal (not with -q), else log
// lines every 10 s, so a cron log shows a long export is alive.
func (g *globals) phases() *phase.Reporter {
	if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if g.quiet {
			return nil
		}
		return phase.Bars(g.stderr)
	}
	r := phase.Logs(g.log)
	r.Every = phaseLogEvery
	return r
}

// phaseLogEvery is the interval of "working" log lines; a test sets 0 to
// see every phase.
var phaseLogEvery = 10 * time.Second

// noArgs and exactArgs reject arguments with a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &usageError{fmt.Errorf("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))}
		}
		return nil
	}
}

// openReader loads the config and opens the database for reading.
func (g *globals) openReader() (*config, *lifecycle.Store, error) {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return nil, nil, err
	}
	g.redact = cfg.redact
	g.warnPermissions(cfg)
	st, err := lifecycle.Open(cfg.Database, lifecycle.ReadOnly)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

// writer is a locked, writable database with a run record.
type writer struct {
	cfg   *config
	store *lifecycle.Store
	lock  *lifecycle.Lock
	runID int64
	// discard: the command found nothing to do, so it is not a run.
	discard bool
}

// openWriter loads the config, takes the writer lock (before any source is
// opened) and opens the database, creating it when missing.
func (g *globals) openWriter(command string) (*writer, error) {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return nil, err
	}
	g.redact = cfg.redact
	g.warnPermissions(cfg)
	// 0700; on Windows a DACL for the owner, SYSTEM and Administrators,
	// which SQLite's -wal and -shm files inherit.
	if err := atomicfile.MkdirPrivate(filepath.Dir(cfg.Database)); err != nil {
		return nil, fmt.Errorf("create database folder: %w", err)
	}
	lock, err := lifecycle.Acquire(cfg.Database)
	if err != nil {
		return nil, err
	}
	st, err := lifecycle.Open(cfg.Database, lifecycle.Create)
	if err != nil {
		lock.Release()
		return nil, err
	}
	id, err := st.BeginRun(command)
	if err != nil {
		st.Close()
		lock.Release()
		return nil, err
	}
	return &writer{cfg: cfg, store: st, lock: lock, runID: id}, nil
}

// withReader runs fn on the database opened for reading.
func (g *globals) withReader(fn func(cfg *config, st *lifecycle.Store) error) error {
	cfg, st, err := g.openReader()
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cfg, st)
}

// withStore runs fn on the database: read-only with no run record when dry
// (runID 0), else under the writer lock as a recorded run of command.
func (g *globals) withStore(command string, dry bool, fn func(cfg *config, st *lifecycle.Store, runID int64) error) error {
	if dry {
		return g.withReader(func(cfg *config, st *lifecycle.Store) error { return fn(cfg, st, 0) })
	}
	w, err := g.openWriter(command)
	if err != nil {
		return err
	}
	return w.close(fn(w.cfg, w.store, w.runID))
}

// close records the run's outcome and releases the database.
func (w *writer) close(err error) error {
	var ferr error
	if exitCode(err) == exitUsage || (err == nil && w.discard) {
		// A usage or config error is not a run: recording it would hide
		// the last real one from status.
		ferr = w.store.DiscardRun(w.runID)
	} else {
		ferr = w.store.FinishRun(w.runID, exitCode(err))
	}
	if ferr == nil && w.cfg.Metrics != "" {
		ferr = writeMetrics(w.store, w.cfg)
	}
	w.store.Close()
	w.lock.Release()
	if err == nil {
		err = ferr
	}
	return err
}
