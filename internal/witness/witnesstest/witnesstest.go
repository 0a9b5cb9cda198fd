// Package witnesstest starts real witnesses for the tests of the packages
// that talk to them.
package witnesstest

import (
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/auditlog/auditlog/internal/witness"
)

// Start starts an independent witness named name of the logs of the
// verifier keys logKeys: a new key, its own SQLite state in t's temporary
// directory, and the tlog-witness protocol on a loopback listener, all
// closed when the test ends. It returns the witness's URL and verifier key.
func Start(t testing.TB, name string, logKeys ...string) (url, vkey string) {
	t.Helper()
	skey, vkey, err := witness.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := witness.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.Open(t.Context(), signer, filepath.Join(t.TempDir(), name+".db"), logKeys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() { srv.Close(); w.Close() })
	return srv.URL, vkey
}
