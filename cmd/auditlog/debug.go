package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/auditlog/auditlog/internal/sqlstore"
)

// debugStats is what GET /debug/stats on the debug listener reports.
type debugStats struct {
	Goroutines int `json:"goroutines"`
	// HeapBytes is the live heap and its garbage not yet collected;
	// SysBytes all the memory the Go runtime holds from the system.
	HeapBytes uint64 `json:"heap_bytes"`
	SysBytes  uint64 `json:"sys_bytes"`
	NumGC     uint32 `json:"num_gc"`
	// The database pools, the writer's and readers' together.
	DBOpen    int   `json:"db_open_connections"`
	DBInUse   int   `json:"db_in_use"`
	DBIdle    int   `json:"db_idle"`
	DBWaits   int64 `json:"db_wait_count"`
	DBMaxOpen int   `json:"db_max_open_connections"`
}

// serveDebug serves, on addr (meant for loopback: it is not authenticated),
// GET /debug/stats (goroutines, memory, database connections, as JSON) and
// the runtime profiles under /debug/pprof/, until ctx ends.
func serveDebug(ctx context.Context, addr string, db *sqlstore.DB, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/stats", func(w http.ResponseWriter, r *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		st := db.Stats()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(debugStats{
			Goroutines: runtime.NumGoroutine(), HeapBytes: m.HeapAlloc, SysBytes: m.Sys, NumGC: m.NumGC,
			DBOpen: st.OpenConnections, DBInUse: st.InUse, DBIdle: st.Idle, DBWaits: st.WaitCount, DBMaxOpen: st.MaxOpenConnections,
		})
	})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or trace takes as long as it asks for.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout}
	return serveSide(ctx, ln, srv, "debug", log), nil
}

// serveSide serves srv on ln, a listener of the process's own beside the
// API's, until ctx ends, then shuts it down; name says which in the log.
// It returns the address ln listens on.
func serveSide(ctx context.Context, ln net.Listener, srv *http.Server, name string, log *slog.Logger) string {
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn(name+" listener stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	return ln.Addr().String()
}
