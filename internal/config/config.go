// Package config holds the service's configuration: a plain value built from
// defaults, then the environment (including a .env file), then command-line
// flags, and passed down to whatever needs it. Nothing here is global.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/joho/godotenv"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
)

// Config is the service's configuration.
type Config struct {
	Env            string         // development or production
	SecretKey      string         // keys session-token hashes; required in production
	DatabaseURL    string         // see sqlstore.ParseURL
	Host           string         // address to listen on
	Port           int            // port to listen on
	TrustedProxies []netip.Prefix // X-Forwarded-For is believed only from these
	SessionIdle    time.Duration  // a session unused this long ends
	SessionMaxAge  time.Duration  // a session ends this long after sign-in, used or not
	CookieSecure   bool           // mark the session cookie Secure (behind TLS)
	LogLevel       string         // debug, info, warn or error
	// SigningKey is the note signer key (PRIVATE+KEY+…) that signs
	// checkpoints. When empty, one is generated on first start and kept in
	// the database.
	SigningKey string
	// LogName names the service in checkpoint origins and in a generated
	// signing key, such as audit.example.com. Left at DefaultLogName, a
	// generated key gets a name of its own, auditlog-<12 hex digits>, so
	// that no two deployments share an origin.
	LogName string

	// PreviousVerifierKeys are the verifier keys of the checkpoint signing
	// keys used before SigningKey (PREVIOUS_VERIFIER_KEYS): checkpoints
	// they signed keep verifying after a key rotation. Each must have the
	// current key's name, so that every origin stays the same.
	PreviousVerifierKeys []string
	// Witnesses are the witnesses (WITNESSES) that the service asks to
	// cosign each account's new checkpoints; WitnessQuorum
	// (WITNESS_QUORUM) is how many of them must cosign a checkpoint for it
	// to count as cosigned (all of them when 0).
	Witnesses     []Witness
	WitnessQuorum int

	// RedisURL, when set, keeps rate-limit buckets in Redis, shared by every
	// process; unset, each process keeps its own.
	RedisURL string
	// Rate limits (token buckets; see internal/ratelimit): login attempts
	// per client IP and per account signed in to, reads per session,
	// ingest requests per API key, and public sign-ups per client IP.
	RateLimitLoginIP      ratelimit.Rule
	RateLimitLoginAccount ratelimit.Rule
	RateLimitReads        ratelimit.Rule
	RateLimitIngest       ratelimit.Rule
	RateLimitSignUp       ratelimit.Rule
	// PublicSignUp lets anyone create an account with POST /api/accounts.
	// When false, only the operator creates accounts (auditlog
	// create-account).
	PublicSignUp bool
	// AllowBreachedPasswords turns off the check of new passwords against
	// the shipped list of common breached passwords.
	AllowBreachedPasswords bool
	// TLSCertFile and TLSKeyFile, when both set, make serve speak HTTPS
	// itself (and send HSTS).
	TLSCertFile string
	TLSKeyFile  string
	// ListCacheMB bounds, in MiB, this process's cache of rendered event
	// listing pages (package server); 0 turns it off.
	ListCacheMB int
	// ChatLLMURL, when set, is the base URL of an OpenAI-compatible
	// chat-completions endpoint (such as https://api.openai.com/v1 or a
	// local Ollama's http://127.0.0.1:11434/v1) that answers POST
	// /api/chat with ChatLLMModel, authenticated by ChatLLMAPIKey (may be
	// empty for a local model). Unset: the built-in engine answers.
	ChatLLMURL, ChatLLMModel, ChatLLMAPIKey string
	// MetricsAddr, when set, is the host:port of a listener of its own
	// that serves GET /metrics (Prometheus) and nothing else, never the
	// API's: unauthenticated, so keep it on loopback or a private network.
	// Empty (the default): no metrics listener.
	MetricsAddr string
	// StreamsAllowHTTP lets streams deliver over plain http://
	// (STREAMS_ALLOW_HTTP), and StreamsAllowPrivate to loopback, private
	// and link-local addresses (STREAMS_ALLOW_PRIVATE): for testing, or a
	// SIEM tool on the operator's own network. Both are off by default.
	StreamsAllowHTTP    bool
	StreamsAllowPrivate bool

	// Retention (docs/retention.md). RetentionDays (RETENTION_DAYS) is
	// the period of accounts that set none, 0 keeping events forever;
	// RetentionMinDays and RetentionMaxDays (RETENTION_MIN_DAYS,
	// RETENTION_MAX_DAYS) bound what an owner may set, a maximum of 0
	// meaning none (and forever allowed). PruneInterval (PRUNE_INTERVAL)
	// is how often serve prunes, 0 never; PruneBatch (PRUNE_BATCH) how
	// many events one prune transaction removes at most.
	RetentionDays, RetentionMinDays, RetentionMaxDays int
	PruneInterval                                     time.Duration
	PruneBatch                                        int
}

// Witness is a witness the service submits checkpoints to: the base URL of
// its C2SP tlog-witness endpoint and its cosignature verifier key.
type Witness struct {
	URL string
	Key string // <name>+<key ID>+<base64 key> (auditlog witness-keygen)
}

// ParseWitnesses parses WITNESSES: a comma-separated list of witnesses,
// each its URL and its verifier key separated by spaces, such as
// "https://w1.example/ w1+12ab34cd+BK…, https://w2.example/ w2+…".
func ParseWitnesses(s string) ([]Witness, error) {
	var ws []Witness
	for _, item := range strings.Split(s, ",") {
		f := strings.Fields(item)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%q: want a witness's URL and its verifier key separated by a space", strings.TrimSpace(item))
		}
		u, err := url.Parse(f[0])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http or https URL", f[0])
		}
		// The base64 key may itself hold "+".
		if parts := strings.SplitN(f[1], "+", 3); len(parts) != 3 || parts[0] == "" || len(parts[1]) != 8 || parts[2] == "" {
			return nil, fmt.Errorf("%q is not a witness verifier key <name>+<key ID>+<key>", f[1])
		}
		for _, w := range ws {
			if w.Key == f[1] {
				return nil, fmt.Errorf("witness key %q is given twice", f[1])
			}
		}
		ws = append(ws, Witness{URL: f[0], Key: f[1]})
	}
	return ws, nil
}

// Quorum returns how many witnesses must cosign a checkpoint: WitnessQuorum,
// or all of them when it is 0.
func (c Config) Quorum() int {
	if c.WitnessQuorum == 0 {
		return len(c.Witnesses)
	}
	return c.WitnessQuorum
}

// DefaultListCacheMB is the default ListCacheMB.
const DefaultListCacheMB = 16

// Default rate limits. An account's login bucket allows 10 attempts and then
// one a minute: at most 70 an hour (ASVS 2.2.1 asks for no more than 100),
// while the real user, even under attack, waits at most a minute.
var (
	DefaultRateLimitLoginIP      = ratelimit.Rule{Limit: 20, Period: time.Minute}
	DefaultRateLimitLoginAccount = ratelimit.Rule{Limit: 10, Period: 10 * time.Minute}
	DefaultRateLimitReads        = ratelimit.Rule{Limit: 300, Period: time.Minute}
	DefaultRateLimitIngest       = ratelimit.Rule{Limit: 20000, Period: 10 * time.Second}
	// DefaultRateLimitSignUp allows 5 sign-ups from one address at once,
	// then one every 12 minutes: a team behind one NAT signing up a few
	// stores is never stopped, a script filling the service is.
	DefaultRateLimitSignUp = ratelimit.Rule{Limit: 5, Period: time.Hour}
)

// maxListCacheMB bounds LIST_CACHE_MB: 64 GiB.
const maxListCacheMB = 1 << 16

// DefaultLogName is LOG_NAME when unset. A signing key generated under it
// is named auditlog-<12 random hex digits> instead (see LogName).
const DefaultLogName = "auditlog"

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Env:           Production,
		DatabaseURL:   "sqlite:///audit_logs.db",
		Host:          "127.0.0.1",
		Port:          5000,
		SessionIdle:   2 * time.Hour,
		SessionMaxAge: 24 * time.Hour,
		LogLevel:      "info",
		LogName:       DefaultLogName,

		RateLimitLoginIP:      DefaultRateLimitLoginIP,
		RateLimitLoginAccount: DefaultRateLimitLoginAccount,
		RateLimitReads:        DefaultRateLimitReads,
		RateLimitIngest:       DefaultRateLimitIngest,
		RateLimitSignUp:       DefaultRateLimitSignUp,
		PublicSignUp:          true,
		ListCacheMB:           DefaultListCacheMB,
		RetentionMinDays:      1,
		PruneInterval:         time.Hour,
		PruneBatch:            DefaultPruneBatch,
	}
}

// DefaultPruneBatch is PRUNE_BATCH when unset: small enough that an
// append waits for a prune transaction only a few milliseconds
// (docs/performance.md#retention).
const DefaultPruneBatch = 500

// maxRetentionDays bounds every retention setting: 100 years.
const maxRetentionDays = 36500

// LookupFunc looks up one setting by name, like os.LookupEnv.
type LookupFunc func(name string) (string, bool)

// Environment returns a LookupFunc that asks env first and then, for names
// env lacks, the dotenv file at path (when path is not empty and the file
// exists). env is the caller's view of the environment, such as
// os.LookupEnv; nil means an empty one. Real environment variables win, so a
// deployment can override a checked-in .env. Environment never reads the
// process environment itself.
func Environment(path string, env LookupFunc) (LookupFunc, error) {
	file := map[string]string{}
	if path != "" {
		m, err := godotenv.Read(path)
		switch {
		case err == nil:
			file = m
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return func(name string) (string, bool) {
		if env != nil {
			if v, ok := env(name); ok {
				return v, true
			}
		}
		v, ok := file[name]
		return v, ok
	}, nil
}

// FromEnv returns Default() overlaid with the settings found by lookup. The
// names are those of the seed (SECRET_KEY, DATABASE_URL, PORT, HOST, and
// FLASK_ENV as a fallback for AUDITLOG_ENV) plus the service's own.
func FromEnv(lookup LookupFunc) (Config, error) {
	c := Default()
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			*dst = strings.TrimSpace(v)
		}
	}
	var errs []error
	dur := func(name string, dst *time.Duration) {
		if v, ok := lookup(name); ok && v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 30m or 12h", name, v))
				return
			}
			*dst = d
		}
	}
	str("FLASK_ENV", &c.Env)
	str("AUDITLOG_ENV", &c.Env)
	if v, ok := lookup("SECRET_KEY"); ok {
		c.SecretKey = v
	}
	str("DATABASE_URL", &c.DatabaseURL)
	str("HOST", &c.Host)
	if v, ok := lookup("PORT"); ok && v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("PORT=%q: want a number", v))
		}
		c.Port = p
	}
	if v, ok := lookup("TRUSTED_PROXIES"); ok {
		ps, err := ParsePrefixes(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %w", err))
		}
		c.TrustedProxies = ps
	}
	dur("SESSION_IDLE_TIMEOUT", &c.SessionIdle)
	dur("SESSION_MAX_AGE", &c.SessionMaxAge)
	if v, ok := lookup("COOKIE_SECURE"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("COOKIE_SECURE=%q: want true or false", v))
		}
		c.CookieSecure = b
	}
	str("LOG_LEVEL", &c.LogLevel)
	str("SIGNING_KEY", &c.SigningKey)
	str("LOG_NAME", &c.LogName)
	str("REDIS_URL", &c.RedisURL)
	str("CHAT_LLM_URL", &c.ChatLLMURL)
	str("CHAT_LLM_MODEL", &c.ChatLLMModel)
	str("CHAT_LLM_API_KEY", &c.ChatLLMAPIKey)
	if c.ChatLLMURL != "" {
		if u, err := url.Parse(c.ChatLLMURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("CHAT_LLM_URL=%q: want the http(s) base URL of an OpenAI-compatible API, such as http://127.0.0.1:11434/v1", c.ChatLLMURL))
		}
		if c.ChatLLMModel == "" {
			errs = append(errs, errors.New("CHAT_LLM_URL is set but CHAT_LLM_MODEL is not: name the model to use"))
		}
	}
	days := func(name string, dst *int) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 || n > maxRetentionDays {
				errs = append(errs, fmt.Errorf("%s=%q: want a number of days from 0 to %d", name, v, maxRetentionDays))
				return
			}
			*dst = n
		}
	}
	days("RETENTION_DAYS", &c.RetentionDays)
	days("RETENTION_MIN_DAYS", &c.RetentionMinDays)
	days("RETENTION_MAX_DAYS", &c.RetentionMaxDays)
	if v, ok := lookup("PRUNE_INTERVAL"); ok && strings.TrimSpace(v) != "" {
		if v = strings.TrimSpace(v); v == "0" || v == "off" {
			c.PruneInterval = 0
		} else {
			dur("PRUNE_INTERVAL", &c.PruneInterval)
		}
	}
	if v, ok := lookup("PRUNE_BATCH"); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 100_000 {
			errs = append(errs, fmt.Errorf("PRUNE_BATCH=%q: want a number of events from 1 to 100000", v))
		} else {
			c.PruneBatch = n
		}
	}
	if v, ok := lookup("PREVIOUS_VERIFIER_KEYS"); ok {
		c.PreviousVerifierKeys = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	}
	if v, ok := lookup("WITNESSES"); ok {
		ws, err := ParseWitnesses(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("WITNESSES: %w", err))
		}
		c.Witnesses = ws
	}
	if v, ok := lookup("WITNESS_QUORUM"); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("WITNESS_QUORUM=%q: want a whole number of witnesses, at least 1", v))
		}
		c.WitnessQuorum = n
	}
	rule := func(name string, dst *ratelimit.Rule) {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			r, err := ratelimit.ParseRule(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			*dst = r
		}
	}
	rule("RATE_LIMIT_LOGIN_IP", &c.RateLimitLoginIP)
	rule("RATE_LIMIT_LOGIN_ACCOUNT", &c.RateLimitLoginAccount)
	rule("RATE_LIMIT_READS", &c.RateLimitReads)
	rule("RATE_LIMIT_INGEST", &c.RateLimitIngest)
	rule("RATE_LIMIT_SIGNUP", &c.RateLimitSignUp)
	if v, ok := lookup("PUBLIC_SIGNUP"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("PUBLIC_SIGNUP=%q: want true or false", v))
		}
		c.PublicSignUp = b
	}
	if v, ok := lookup("BREACHED_PASSWORD_CHECK"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("BREACHED_PASSWORD_CHECK=%q: want true or false", v))
		}
		c.AllowBreachedPasswords = !b
	}
	str("METRICS_ADDR", &c.MetricsAddr)
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"STREAMS_ALLOW_HTTP", &c.StreamsAllowHTTP}, {"STREAMS_ALLOW_PRIVATE", &c.StreamsAllowPrivate}} {
		name, dst := b.name, b.dst
		if v, ok := lookup(name); ok && v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
			}
			*dst = b
		}
	}
	str("TLS_CERT_FILE", &c.TLSCertFile)
	str("TLS_KEY_FILE", &c.TLSKeyFile)
	if v, ok := lookup("LIST_CACHE_MB"); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > maxListCacheMB {
			errs = append(errs, fmt.Errorf("LIST_CACHE_MB=%q: want a whole number of MiB from 0 (off) to %d", v, maxListCacheMB))
		}
		c.ListCacheMB = n
	}
	return c, errors.Join(errs...)
}

// ParsePrefixes parses a comma-separated list of IP addresses and CIDR
// prefixes, such as "10.0.0.0/8, 127.0.0.1".
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", f)
		}
		ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return ps, nil
}

// Dev reports whether the service runs in development mode.
func (c Config) Dev() bool { return c.Env == Development }

// Addr returns the host:port to listen on.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// MinSecretKeyLen is the shortest SECRET_KEY accepted in production.
const MinSecretKeyLen = 32

// Validate checks the configuration. In production SECRET_KEY must be set
// and long; in development a missing one is the caller's to generate.
func (c Config) Validate() error {
	var errs []error
	switch c.Env {
	case Development, Production:
	default:
		errs = append(errs, fmt.Errorf("AUDITLOG_ENV=%q: want development or production", c.Env))
	}
	if !c.Dev() {
		switch {
		case c.SecretKey == "":
			errs = append(errs, errors.New("SECRET_KEY is not set: set it to a random string of at least 32 characters (for example the output of `openssl rand -hex 32`), or run in development with AUDITLOG_ENV=development or --dev"))
		case len(c.SecretKey) < MinSecretKeyLen:
			errs = append(errs, fmt.Errorf("SECRET_KEY is %d characters long: use at least %d random characters in production", len(c.SecretKey), MinSecretKeyLen))
		}
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("PORT=%d: want 0 to 65535", c.Port))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogName == "" || strings.ContainsAny(c.LogName, " \t\n+") {
		errs = append(errs, fmt.Errorf("LOG_NAME=%q: want a name without spaces or '+', such as audit.example.com", c.LogName))
	}
	if c.WitnessQuorum < 0 || c.WitnessQuorum > len(c.Witnesses) {
		errs = append(errs, fmt.Errorf("WITNESS_QUORUM=%d: want at most the %d witnesses of WITNESSES", c.WitnessQuorum, len(c.Witnesses)))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS_CERT_FILE and TLS_KEY_FILE must be set together"))
	}
	if c.MetricsAddr != "" {
		if err := c.checkMetricsAddr(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.SessionIdle > c.SessionMaxAge {
		errs = append(errs, fmt.Errorf("SESSION_IDLE_TIMEOUT (%s) is longer than SESSION_MAX_AGE (%s)", c.SessionIdle, c.SessionMaxAge))
	}
	switch d, lo, hi := c.RetentionDays, c.RetentionMinDays, c.RetentionMaxDays; {
	case hi > 0 && lo > hi:
		errs = append(errs, fmt.Errorf("RETENTION_MIN_DAYS (%d) is more than RETENTION_MAX_DAYS (%d)", lo, hi))
	case d == 0 && hi > 0:
		errs = append(errs, fmt.Errorf("RETENTION_DAYS is 0 (forever) but RETENTION_MAX_DAYS is %d: set RETENTION_DAYS to at most %d", hi, hi))
	case d != 0 && (d < lo || (hi > 0 && d > hi)):
		errs = append(errs, fmt.Errorf("RETENTION_DAYS (%d) is outside RETENTION_MIN_DAYS and RETENTION_MAX_DAYS (%d to %d)", d, lo, hi))
	}
	return errors.Join(errs...)
}

// checkMetricsAddr checks that MetricsAddr is a host:port with a port
// number, and not the API's own address.
func (c Config) checkMetricsAddr() error {
	host, port, err := net.SplitHostPort(c.MetricsAddr)
	if err != nil {
		return fmt.Errorf("METRICS_ADDR=%q: want host:port, such as 127.0.0.1:9464", c.MetricsAddr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("METRICS_ADDR=%q: want a port number from 0 to 65535", c.MetricsAddr)
	}
	if port != "0" && port == strconv.Itoa(c.Port) && (host == c.Host || host == "" || c.Host == "" || host == "0.0.0.0" || c.Host == "0.0.0.0" || host == "::" || c.Host == "::") {
		return fmt.Errorf("METRICS_ADDR=%q is the API's address (%s): the metrics need a listener of their own", c.MetricsAddr, c.Addr())
	}
	return nil
}
