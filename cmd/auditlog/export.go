package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/server"
)

// exportOperator is how an export from the database is recorded: the actor
// is of type system, named by this and the operating-system user.
const exportOperator = "auditlog export"

func runExport(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "export", `Export an account's audit log as NDJSON (the self-proving export that
auditlog verify checks), CSV or a PDF report, in one of two ways:

  auditlog export --account ID [--format F] [filters] [--output FILE]
      reads the database directly (DATABASE_URL), for operators; the export
      is recorded in the account's log as the API records it, with a system
      actor named "auditlog export" and the operating-system user.
  auditlog export --url URL --api-key KEY [--format F] [filters] [--output FILE]
      downloads it through GET /api/audit-logs/export with an API key that
      holds events:read.

The file goes to FILE, written to a temporary file in the same directory and
renamed when complete (an interrupted export leaves no FILE), or to standard
output. On a terminal a progress bar on standard error shows the events
done, the rate and the time left.`)
	accountID := fs.Int64("account", 0, "export the account with this `ID`, reading the database")
	apiURL := fs.String("url", "", "export through the API of the service at this base `URL` (such as https://audit.example.com)")
	apiKey := fs.String("api-key", "", "with --url, the API `key` (events:read scope); env AUDITLOG_API_KEY")
	format := fs.String("format", app.FormatNDJSON, "`format`: ndjson, csv or pdf")
	output := fs.String("output", "", "write to this `file` instead of standard output")
	bom := fs.Bool("bom", false, "start a CSV export with a UTF-8 byte order mark, for Excel")
	progress := fs.String("progress", "auto", "progress bar on standard error: auto (on a terminal), always or never")
	q := url.Values{}
	for _, name := range []string{"action", "user-id", "resource-type", "start-date", "end-date"} {
		param := strings.ReplaceAll(name, "-", "_")
		fs.Func(name, "only events whose "+param+" filter matches, as GET /api/audit-logs?"+param+"= (dates: 2024-01-31 or 2024-01-31T12:00:00Z)", func(v string) error {
			q.Set(param, v)
			return nil
		})
	}
	fs.Func("q", "only events that match this search `query`, as GET /api/audit-logs?q= (docs/search.md), such as 'actor:jane@example.com action:order.*'", func(v string) error {
		q.Set("q", v)
		return nil
	})
	if err := st.parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case (*accountID == 0) == (*apiURL == ""):
		fs.Usage()
		return usageError{errors.New("export needs --account ID (from the database) or --url URL (through the API)")}
	case !strings.Contains(","+strings.Join(app.ExportFormats, ",")+",", ","+*format+","):
		return badUsage(e.stderr, "export", fmt.Errorf("--format %q: want ndjson, csv or pdf", *format))
	case *progress != "auto" && *progress != "always" && *progress != "never":
		return badUsage(e.stderr, "export", fmt.Errorf("--progress %q: want auto, always or never", *progress))
	}
	var bar *progressBar
	if *progress == "always" || *progress == "auto" && isTerminal(e.stderr) {
		bar = newProgressBar(e.stderr)
	}
	out, err := newOutput(e, *output)
	if err != nil {
		return err
	}
	defer out.abort() // a no-op once committed
	if *apiURL != "" {
		key := *apiKey
		if key == "" {
			key, _ = e.lookupEnv("AUDITLOG_API_KEY")
		}
		if key == "" {
			return badUsage(e.stderr, "export", errors.New("--url needs --api-key KEY (or AUDITLOG_API_KEY)"))
		}
		q.Set("format", *format)
		if *bom {
			q.Set("bom", "1")
		}
		err = exportFromAPI(ctx, *apiURL, key, q, out, bar)
	} else {
		err = exportFromDatabase(ctx, e, st, *accountID, *format, *bom, q, out, bar)
	}
	bar.finish(err == nil)
	if err != nil {
		return err
	}
	if err := out.commit(); err != nil {
		return err
	}
	if *output != "" {
		fmt.Fprintf(e.stderr, "wrote %s\n", *output)
	}
	return nil
}

// exportFromDatabase runs the export through the app, as the operator.
func exportFromDatabase(ctx context.Context, e *env, st *settings, accountID int64, format string, bom bool, q url.Values, out *output, bar *progressBar) error {
	filter, err := server.EventFilter(q)
	if err != nil {
		return cliError(err)
	}
	if err := st.load(e); err != nil {
		return err
	}
	cfg := st.cfg
	log := newLogger(e, cfg.LogLevel)
	a, closeAll, err := operatorApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer closeAll()
	name := exportOperator
	if u, ok := e.lookupEnv("USER"); ok && u != "" {
		name += " by " + u
	}
	req := app.ExportRequest{Format: format, Filter: filter, Search: q.Get("q"), BOM: bom, Progress: bar.set}
	err = a.Export(ctx, app.OperatorPrincipal(accountID, name), app.NewClient("", "auditlog-cli"), req, func(x *app.Export) io.Writer {
		bar.start(x.Events, format == app.FormatPDF)
		return out
	})
	if errors.Is(err, audit.ErrNotFound) {
		return fmt.Errorf("account %d not found, or its log is empty", accountID)
	}
	return cliError(err)
}

// cliError returns an app error as the command line shows it: its message
// and field rather than its code.
func cliError(err error) error {
	var ae *audit.Error
	if errors.As(err, &ae) && ae.Err == nil {
		return errors.New(ae.Message)
	}
	return err
}

// exportFromAPI downloads the export through the API.
func exportFromAPI(ctx context.Context, base, key string, q url.Values, out *output, bar *progressBar) error {
	u, err := url.Parse(strings.TrimRight(base, "/") + "/api/audit-logs/export")
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("--url %q: want http:// or https://", base)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("User-Agent", "auditlog-cli")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("export: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	total, _ := strconv.ParseInt(resp.Header.Get("X-Export-Events"), 10, 64)
	format := q.Get("format")
	bar.start(total, format == app.FormatPDF)
	var w io.Writer = out
	if format != app.FormatPDF {
		w = &eventCounter{w: out, csv: format == app.FormatCSV, progress: bar.set}
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("export: download: %w", err)
	}
	// An NDJSON export ends with its end line; a cut one does not.
	if format == app.FormatNDJSON && !out.endsWith(`"type":"end"`) {
		return errors.New("export: the server ended the file early (no end line): the export failed on the server")
	}
	return nil
}

// eventCounter counts the events that pass through it: NDJSON lines after
// the header, or CSV records after the header row (line ends outside
// quotes; a cell's own line breaks are inside them).
type eventCounter struct {
	w        io.Writer
	csv      bool
	inQuotes bool
	lines    int64
	progress func(int64)
}

func (c *eventCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		switch {
		case b == '"' && c.csv:
			c.inQuotes = !c.inQuotes
		case b == '\n' && !c.inQuotes:
			c.lines++
		}
	}
	c.progress(max(c.lines-1, 0))
	return c.w.Write(p)
}

// output is where an export goes: standard output, or a temporary file
// beside the named one, renamed to it by commit.
type output struct {
	w         io.Writer
	file      *os.File // the temporary file, nil for standard output
	name      string
	tail      []byte // the last bytes written, for endsWith
	committed bool
}

func newOutput(e *env, name string) (*output, error) {
	if name == "" || name == "-" {
		return &output{w: e.stdout}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.partial")
	if err != nil {
		return nil, fmt.Errorf("create output: %w", err)
	}
	return &output{w: f, file: f, name: name}, nil
}

func (o *output) Write(p []byte) (int, error) {
	o.tail = append(o.tail, p[max(0, len(p)-64):]...)
	o.tail = o.tail[max(0, len(o.tail)-64):]
	return o.w.Write(p)
}

// endsWith reports whether the output's last line contains s.
func (o *output) endsWith(s string) bool {
	return strings.Contains(string(o.tail), s)
}

// commit makes the output final: the temporary file, flushed to disk,
// takes the named file's place.
func (o *output) commit() error {
	if o.file == nil {
		return nil
	}
	if err := o.file.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	if err := o.file.Close(); err != nil {
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	if err := os.Chmod(o.file.Name(), 0o640); err != nil {
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	if err := os.Rename(o.file.Name(), o.name); err != nil {
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	o.committed = true
	return nil
}

// abort removes the temporary file of an output not committed.
func (o *output) abort() {
	if o.file != nil && !o.committed {
		o.file.Close()
		os.Remove(o.file.Name())
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
