package witness

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/tlog"
	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// AddCheckpointPath is the tlog-witness endpoint that cosigns checkpoints.
const AddCheckpointPath = "/add-checkpoint"

// sizeContentType is the type of a 409 answer's body: the size of the
// latest checkpoint the witness cosigned for the origin.
const sizeContentType = "text/x.tlog.size"

// maxRequest bounds an add-checkpoint request: a checkpoint and at most 63
// proof hashes.
const maxRequest = 16 << 10

// Witness is an independent witness of auditlog logs (C2SP tlog-witness):
// it cosigns a checkpoint only when a consistency proof shows that it
// extends the last checkpoint it cosigned for the same origin, so it never
// cosigns two histories of one log. It keeps, per origin, that last
// checkpoint in its own SQLite file.
type Witness struct {
	signer *Signer
	db     *sql.DB
	logs   map[string][]note.Verifier // by key name: a log's keys after a rotation share its name
	log    *slog.Logger
	mu     sync.Mutex // one add-checkpoint at a time
}

// Open returns a witness that signs with signer, keeps its state in the
// SQLite file at path (created when missing), and witnesses the logs of
// the given log verifier keys: every origin "<key name>/accounts/<id>" of
// each. Several keys may share a name (a log's old and new key after a key
// rotation): a checkpoint signed by any of them is accepted.
func Open(ctx context.Context, signer *Signer, path string, logKeys []string, log *slog.Logger) (*Witness, error) {
	w := &Witness{signer: signer, logs: map[string][]note.Verifier{}, log: log}
	for _, k := range logKeys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("witness: log key %q: %w", k, err)
		}
		w.logs[v.Name()] = append(w.logs[v.Name()], v)
	}
	if len(w.logs) == 0 {
		return nil, errors.New("witness: no log to witness: give at least one log verifier key")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, fmt.Errorf("witness: open state: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS cosigned (
		origin TEXT PRIMARY KEY,
		tree_size INTEGER NOT NULL,
		root_hash BLOB NOT NULL,
		checkpoint TEXT NOT NULL,
		cosigned_at TEXT NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("witness: create state: %w", err)
	}
	w.db = db
	return w, nil
}

// Close closes the witness's state.
func (w *Witness) Close() error { return w.db.Close() }

// Handler returns the witness's HTTP handler: POST /add-checkpoint.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+AddCheckpointPath, w.addCheckpoint)
	return mux
}

// refusal is an add-checkpoint answer other than a cosignature.
type refusal struct {
	status int
	msg    string
	size   int64 // for 409: the size of the last cosigned checkpoint
}

func (r *refusal) Error() string { return fmt.Sprintf("%d: %s", r.status, r.msg) }

func refuse(status int, format string, args ...any) *refusal {
	return &refusal{status: status, msg: fmt.Sprintf(format, args...)}
}

func (w *Witness) addCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxRequest))
	if err != nil {
		http.Error(rw, "request too large or unreadable", http.StatusBadRequest)
		return
	}
	cosig, err := w.AddCheckpoint(r.Context(), body)
	var ref *refusal
	switch {
	case errors.As(err, &ref) && ref.status == http.StatusConflict && ref.size >= 0:
		rw.Header().Set("Content-Type", sizeContentType)
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", ref.size)
	case errors.As(err, &ref):
		w.log.Warn("witness refused a checkpoint", "status", ref.status, "reason", ref.msg)
		http.Error(rw, ref.msg, ref.status)
	case err != nil:
		w.log.Error("witness failed", "err", err)
		http.Error(rw, "internal error", http.StatusInternalServerError)
	default:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(cosig)
	}
}

// AddCheckpoint handles the body of an add-checkpoint request: "old
// <size>", the consistency proof's hashes one per line in base64, an empty
// line, then the signed checkpoint. It returns the witness's cosignature
// line, or an error that carries the protocol's status code.
func (w *Witness) AddCheckpoint(ctx context.Context, body []byte) ([]byte, error) {
	oldSize, proof, signed, err := parseRequest(body)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%v", err)
	}
	text, _, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		return nil, refuse(http.StatusBadRequest, "the checkpoint is not a signed note")
	}
	origin, _, _ := strings.Cut(string(text), "\n")
	keyName, account, ok := strings.Cut(origin, "/accounts/")
	vs := w.logs[keyName]
	if id, err := strconv.ParseInt(account, 10, 64); !ok || len(vs) == 0 || err != nil || id < 1 || strconv.FormatInt(id, 10) != account {
		return nil, refuse(http.StatusNotFound, "unknown log %q", origin)
	}
	n, err := note.Open(signed, note.VerifierList(vs...))
	if err != nil {
		return nil, refuse(http.StatusForbidden, "the checkpoint is not validly signed by the log's key")
	}
	cp, err := tlog.ParseCheckpointBody(n.Text)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%v", err)
	}
	if oldSize > cp.Size {
		return nil, refuse(http.StatusBadRequest, "old size %d is larger than the checkpoint's %d", oldSize, cp.Size)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var size int64
	var root []byte
	err = w.db.QueryRowContext(ctx, `SELECT tree_size, root_hash FROM cosigned WHERE origin = ?`, origin).Scan(&size, &root)
	if errors.Is(err, sql.ErrNoRows) {
		size, root = 0, tlog.EmptyRoot[:]
	} else if err != nil {
		return nil, fmt.Errorf("witness: read state: %w", err)
	}
	if oldSize != size {
		return nil, &refusal{status: http.StatusConflict, msg: "old size is not the last cosigned size", size: size}
	}
	switch {
	case oldSize == 0:
		if len(proof) != 0 {
			return nil, refuse(http.StatusBadRequest, "a proof from size 0 must be empty")
		}
	case oldSize == cp.Size:
		if tlog.Hash(root) != cp.Root {
			return nil, &refusal{status: http.StatusConflict, msg: "a checkpoint of the same size with another root: the log forked", size: -1}
		}
	default:
		if err := tlog.VerifyConsistency(proof, oldSize, tlog.Hash(root), cp.Size, cp.Root); err != nil {
			return nil, refuse(http.StatusUnprocessableEntity, "the consistency proof from size %d does not hold: the checkpoint does not extend the one cosigned", oldSize)
		}
	}
	if _, err := w.db.ExecContext(ctx, `INSERT INTO cosigned (origin, tree_size, root_hash, checkpoint, cosigned_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (origin) DO UPDATE SET tree_size = excluded.tree_size, root_hash = excluded.root_hash,
		checkpoint = excluded.checkpoint, cosigned_at = excluded.cosigned_at`,
		origin, cp.Size, cp.Root[:], string(signed), time.Now().UTC().Format(time.RFC3339)); err != nil {
		return nil, fmt.Errorf("witness: save state: %w", err)
	}
	out, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, err
	}
	return out[len(n.Text)+1:], nil // the signature lines, after the text and the empty line
}

// parseRequest splits an add-checkpoint body.
func parseRequest(body []byte) (oldSize int64, proof []tlog.Hash, signed []byte, err error) {
	rd := bufio.NewReader(bytes.NewReader(body))
	line, err := rd.ReadString('\n')
	if err != nil {
		return 0, nil, nil, errors.New("no old size line")
	}
	sizeText, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "old ")
	oldSize, err = strconv.ParseInt(sizeText, 10, 64)
	if !ok || err != nil || oldSize < 0 || strconv.FormatInt(oldSize, 10) != sizeText {
		return 0, nil, nil, fmt.Errorf("bad old size line %q", line)
	}
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return 0, nil, nil, errors.New("no empty line before the checkpoint")
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			break
		}
		h, err := base64.StdEncoding.Strict().DecodeString(line)
		if err != nil || len(h) != len(tlog.Hash{}) || len(proof) == 63 {
			return 0, nil, nil, fmt.Errorf("bad proof line %q", line)
		}
		proof = append(proof, tlog.Hash(h))
	}
	signed, _ = io.ReadAll(rd)
	return oldSize, proof, signed, nil
}

// ConflictError is a witness's 409 answer: the size of the last checkpoint
// it cosigned for the origin, from which the next request must prove.
type ConflictError struct{ Size int64 }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness: the last checkpoint cosigned has size %d", e.Size)
}

// RefusedError is a witness's refusal other than a 409 with a size.
type RefusedError struct {
	Status int
	Msg    string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("witness refused the checkpoint (%d): %s", e.Status, e.Msg)
}

// Submit sends one add-checkpoint request to the witness at baseURL and
// returns its cosignature lines. A 409 with a size is a *ConflictError,
// any other refusal a *RefusedError.
func Submit(ctx context.Context, client *http.Client, baseURL string, oldSize int64, proof []tlog.Hash, signed []byte) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", oldSize)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(signed)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+AddCheckpointPath, &b)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRequest))
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", baseURL, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusConflict && resp.Header.Get("Content-Type") == sizeContentType:
		line, ok := strings.CutSuffix(string(body), "\n")
		size, err := strconv.ParseInt(line, 10, 64)
		if !ok || err != nil || size < 0 {
			return nil, fmt.Errorf("witness %s: malformed size answer %q", baseURL, body)
		}
		return nil, &ConflictError{Size: size}
	default:
		return nil, &RefusedError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(body))}
	}
}

// Cosign asks the witness at baseURL to cosign the signed checkpoint of
// size `size`, proving consistency from whatever size it last cosigned
// (prove returns the proof from an older size to `size`). It returns the
// checkpoint with the witness's cosignature appended.
func Cosign(ctx context.Context, client *http.Client, baseURL string, signed []byte, size int64, prove func(from int64) ([]tlog.Hash, error)) ([]byte, error) {
	var old int64
	for attempt := 0; attempt < 2; attempt++ {
		var proof []tlog.Hash
		if old > 0 && old < size {
			var err error
			if proof, err = prove(old); err != nil {
				return nil, err
			}
		}
		lines, err := Submit(ctx, client, baseURL, old, proof, signed)
		var conflict *ConflictError
		if errors.As(err, &conflict) && attempt == 0 {
			if conflict.Size > size {
				return nil, fmt.Errorf("witness %s has cosigned size %d, larger than this checkpoint's %d", baseURL, conflict.Size, size)
			}
			old = conflict.Size
			continue
		}
		if err != nil {
			return nil, err
		}
		return append(append([]byte(nil), signed...), lines...), nil
	}
	return nil, fmt.Errorf("witness %s: the size it cosigned changed twice", baseURL)
}
