package faults

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Spare ports of the private servers, away from the shared ones.
const (
	pgPort    = 15432
	redisPort = 16379
	mariaPort = 13306
)

// pgServer is a private PostgreSQL cluster the test owns.
type pgServer struct {
	bin, dir string
}

// startPostgres creates a cluster in a fresh directory with initdb, run as
// the postgres user (initdb refuses root), and starts it on pgPort.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	need(t, len(bins) > 0, "no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
	need(t, os.Geteuid() == 0, "starting a private PostgreSQL needs root (to run initdb as the postgres user)")
	pgUser, err := user.Lookup("postgres")
	need(t, err == nil, "no postgres user")
	need(t, portFree(pgPort), fmt.Sprintf("port %d is taken", pgPort))
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	dir, err := os.MkdirTemp("", "auditlog-faults-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	pg := &pgServer{bin: filepath.Dir(bins[len(bins)-1]), dir: dir}
	pg.run(t, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	pg.start(t)
	t.Cleanup(func() { // already stopped, when a case failed while it was down
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(pg.bin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "stop", "-m", "immediate").Run()
	})
	return pg
}

// run runs one of the cluster's programs as the postgres user.
func (pg *pgServer) run(t *testing.T, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pg.bin, prog)}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
}

func (pg *pgServer) start(t *testing.T) {
	t.Helper()
	pg.run(t, "pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-l", filepath.Join(pg.dir, "log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c autovacuum=off", pgPort, pg.dir), "start")
}

// stop stops the cluster at once, as a crash would (immediate mode: no
// checkpoint, clients cut off).
func (pg *pgServer) stop(t *testing.T) {
	t.Helper()
	pg.run(t, "pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-w", "stop", "-m", "immediate")
}

// psql runs one statement.
func (pg *pgServer) psql(t *testing.T, sql string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(pg.bin, "psql"), "-h", "127.0.0.1", "-p", strconv.Itoa(pgPort), "-U", "postgres", "-d", "postgres", "-Atqc", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
	return string(out)
}

// url is the DATABASE_URL of a fresh database on the cluster.
func (pg *pgServer) url(t *testing.T, name string) string {
	pg.psql(t, "CREATE DATABASE "+name)
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pgPort, name)
}

// redisServer is a private Redis the test owns.
type redisServer struct {
	t   *testing.T
	cmd *exec.Cmd
}

// startRedis starts redis-server on redisPort, without persistence.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	need(t, err == nil, "redis-server is not installed")
	need(t, portFree(redisPort), fmt.Sprintf("port %d is taken", redisPort))
	r := &redisServer{t: t}
	r.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(redisPort), "--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.kill)
	waitPort(t, redisPort)
	return r
}

// kill stops Redis at once.
func (r *redisServer) kill() {
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// waitPort waits until something listens on 127.0.0.1:port.
func waitPort(t *testing.T, port int) {
	t.Helper()
	for range 300 {
		if !portFree(port) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d after 30s", port)
}

// mariaServer is a private MariaDB server the test owns: a data directory
// of its own and a mariadbd process on mariaPort.
type mariaServer struct {
	dir string
	cmd *exec.Cmd
}

// startMariaDB creates a data directory with mariadb-install-db and starts
// mariadbd on mariaPort (root, no password, from 127.0.0.1). The server
// reads no option file; commits are written to the operating system at
// once and flushed to disk every second (innodb_flush_log_at_trx_commit=2),
// which loses nothing when only the server process dies, as here.
func startMariaDB(t *testing.T) *mariaServer {
	t.Helper()
	install, err := exec.LookPath("mariadb-install-db")
	need(t, err == nil, "mariadb-install-db is not installed")
	_, err = os.Stat(mariadbd)
	need(t, err == nil, mariadbd+" is not installed")
	need(t, portFree(mariaPort), fmt.Sprintf("port %d is taken", mariaPort))
	dir, err := os.MkdirTemp("", "auditlog-faults-maria-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	userFlag := "--user=" + currentUser()
	out, err := exec.Command(install, "--no-defaults", "--datadir="+filepath.Join(dir, "data"), userFlag,
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	m := &mariaServer{dir: dir}
	m.start(t)
	t.Cleanup(m.kill)
	return m
}

// mariadbd is the server binary Debian's packages install.
const mariadbd = "/usr/sbin/mariadbd"

// currentUser is the name of the user the test runs as (mariadbd, started
// as root, must be told to stay root).
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}

// start starts mariadbd on the data directory and waits until it answers.
func (m *mariaServer) start(t *testing.T) {
	t.Helper()
	m.cmd = exec.Command(mariadbd, "--no-defaults", "--datadir="+filepath.Join(m.dir, "data"),
		"--socket="+filepath.Join(m.dir, "sock"), "--pid-file="+filepath.Join(m.dir, "pid"),
		"--port="+strconv.Itoa(mariaPort), "--bind-address=127.0.0.1", "--user="+currentUser(),
		"--skip-log-bin", "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=2",
		"--log-error="+filepath.Join(m.dir, "log"))
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for range 600 {
		if err := exec.Command("mariadb", "-uroot", "-h127.0.0.1", "-P"+strconv.Itoa(mariaPort), "-e", "SELECT 1").Run(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(m.dir, "log"))
	t.Fatalf("mariadbd did not answer within a minute:\n%s", log)
}

// kill ends mariadbd with SIGKILL, as a crash would: no shutdown, clients
// cut off, InnoDB recovers at the next start.
func (m *mariaServer) kill() {
	if m.cmd != nil && m.cmd.ProcessState == nil {
		m.cmd.Process.Kill()
		m.cmd.Wait()
	}
}

// sql runs statements with the mariadb client; with force, it goes on past
// a statement that fails (a KILL of a session already gone) and ignores
// the exit status.
func (m *mariaServer) sql(t *testing.T, stmts string, force bool) string {
	t.Helper()
	args := []string{"-uroot", "-h127.0.0.1", "-P" + strconv.Itoa(mariaPort), "-N", "-B", "-e", stmts}
	if force {
		args = append(args, "--force")
	}
	out, err := exec.Command("mariadb", args...).CombinedOutput()
	if err != nil && !force {
		t.Fatalf("mariadb %q: %v\n%s", stmts, err, out)
	}
	return string(out)
}

// url is the DATABASE_URL of a fresh database on the server.
func (m *mariaServer) url(t *testing.T, name string) string {
	m.sql(t, "CREATE DATABASE "+name, false)
	return fmt.Sprintf("mysql://root@127.0.0.1:%d/%s", mariaPort, name)
}
