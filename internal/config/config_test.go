package config_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ratelimit"
)

// lookup returns a LookupFunc over m: the only environment these tests
// give the package.
func lookup(m map[string]string) config.LookupFunc {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

// TestDefault checks the documented defaults (README, Configuration) value
// by value, rather than against Default() itself.
func TestDefault(t *testing.T) {
	want := config.Config{
		Env:                   config.Production,
		DatabaseURL:           "sqlite:///audit_logs.db",
		Host:                  "127.0.0.1",
		Port:                  5000,
		SessionIdle:           2 * time.Hour,
		SessionMaxAge:         24 * time.Hour,
		LogLevel:              "info",
		LogName:               "auditlog",
		RateLimitLoginIP:      ratelimit.Rule{Limit: 20, Period: time.Minute},
		RateLimitLoginAccount: ratelimit.Rule{Limit: 10, Period: 10 * time.Minute},
		RateLimitReads:        ratelimit.Rule{Limit: 300, Period: time.Minute},
		RateLimitIngest:       ratelimit.Rule{Limit: 20000, Period: 10 * time.Second},
		RateLimitSignUp:       ratelimit.Rule{Limit: 5, Period: time.Hour},
		PublicSignUp:          true,
		ListCacheMB:           16,
		RetentionMinDays:      1,
		PruneInterval:         time.Hour,
		PruneBatch:            500,
	}
	if got := config.Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default() = %+v\nwant %+v", got, want)
	}
	got, err := config.FromEnv(lookup(nil))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("FromEnv(nothing set) = %+v, %v\nwant the defaults %+v", got, err, want)
	}
}

// TestFromEnv sets each variable to good values and checks the one field it
// sets; everything else must keep its default.
func TestFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want func(c *config.Config) // the changes from Default()
	}{
		{"AUDITLOG_ENV", map[string]string{"AUDITLOG_ENV": "development"}, func(c *config.Config) { c.Env = config.Development }},
		{"FLASK_ENV fallback", map[string]string{"FLASK_ENV": "development"}, func(c *config.Config) { c.Env = config.Development }},
		{"AUDITLOG_ENV over FLASK_ENV", map[string]string{"FLASK_ENV": "development", "AUDITLOG_ENV": "production"}, func(c *config.Config) {}},
		{"blank AUDITLOG_ENV leaves FLASK_ENV", map[string]string{"FLASK_ENV": "development", "AUDITLOG_ENV": "  "}, func(c *config.Config) { c.Env = config.Development }},
		{"AUDITLOG_ENV trimmed", map[string]string{"AUDITLOG_ENV": " development\n"}, func(c *config.Config) { c.Env = config.Development }},
		// An unknown environment is Validate's to refuse.
		{"AUDITLOG_ENV unknown", map[string]string{"AUDITLOG_ENV": "staging"}, func(c *config.Config) { c.Env = "staging" }},

		// The secret key is used exactly as given.
		{"SECRET_KEY", map[string]string{"SECRET_KEY": "s3cret"}, func(c *config.Config) { c.SecretKey = "s3cret" }},
		{"SECRET_KEY not trimmed", map[string]string{"SECRET_KEY": " s3cret "}, func(c *config.Config) { c.SecretKey = " s3cret " }},

		{"WITNESSES", map[string]string{"WITNESSES": " https://w1.example/ w1+1a2b3c4d+BAAA,\nhttp://10.0.0.2:7380 w2+5e6f7a8b+BB+B , ", "WITNESS_QUORUM": "1"},
			func(c *config.Config) {
				c.Witnesses = []config.Witness{{URL: "https://w1.example/", Key: "w1+1a2b3c4d+BAAA"}, {URL: "http://10.0.0.2:7380", Key: "w2+5e6f7a8b+BB+B"}}
				c.WitnessQuorum = 1
			}},
		{"PREVIOUS_VERIFIER_KEYS", map[string]string{"PREVIOUS_VERIFIER_KEYS": "a+00000001+AQ, a+00000002+AR\n"},
			func(c *config.Config) { c.PreviousVerifierKeys = []string{"a+00000001+AQ", "a+00000002+AR"} }},
		{"DATABASE_URL", map[string]string{"DATABASE_URL": "postgres://db/audit"}, func(c *config.Config) { c.DatabaseURL = "postgres://db/audit" }},
		{"DATABASE_URL trimmed", map[string]string{"DATABASE_URL": "  mysql://db/audit "}, func(c *config.Config) { c.DatabaseURL = "mysql://db/audit" }},
		{"DATABASE_URL blank", map[string]string{"DATABASE_URL": " "}, func(c *config.Config) {}},
		{"HOST", map[string]string{"HOST": "0.0.0.0"}, func(c *config.Config) { c.Host = "0.0.0.0" }},
		{"HOST trimmed", map[string]string{"HOST": " ::1 "}, func(c *config.Config) { c.Host = "::1" }},
		{"PORT", map[string]string{"PORT": "8080"}, func(c *config.Config) { c.Port = 8080 }},
		{"PORT zero", map[string]string{"PORT": "0"}, func(c *config.Config) { c.Port = 0 }},
		{"PORT empty", map[string]string{"PORT": ""}, func(c *config.Config) {}},
		// Out of range is Validate's to refuse.
		{"PORT out of range", map[string]string{"PORT": "70000"}, func(c *config.Config) { c.Port = 70000 }},

		{"TRUSTED_PROXIES", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"}, func(c *config.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
		}},
		{"TRUSTED_PROXIES empty", map[string]string{"TRUSTED_PROXIES": ""}, func(c *config.Config) {}},

		{"SESSION_IDLE_TIMEOUT", map[string]string{"SESSION_IDLE_TIMEOUT": "30m"}, func(c *config.Config) { c.SessionIdle = 30 * time.Minute }},
		{"SESSION_MAX_AGE", map[string]string{"SESSION_MAX_AGE": "12h30m"}, func(c *config.Config) { c.SessionMaxAge = 12*time.Hour + 30*time.Minute }},
		{"SESSION_MAX_AGE empty", map[string]string{"SESSION_MAX_AGE": ""}, func(c *config.Config) {}},

		{"COOKIE_SECURE true", map[string]string{"COOKIE_SECURE": "true"}, func(c *config.Config) { c.CookieSecure = true }},
		{"COOKIE_SECURE 1", map[string]string{"COOKIE_SECURE": "1"}, func(c *config.Config) { c.CookieSecure = true }},
		{"COOKIE_SECURE false", map[string]string{"COOKIE_SECURE": "false"}, func(c *config.Config) {}},
		{"COOKIE_SECURE empty", map[string]string{"COOKIE_SECURE": ""}, func(c *config.Config) {}},

		{"LOG_LEVEL", map[string]string{"LOG_LEVEL": "debug"}, func(c *config.Config) { c.LogLevel = "debug" }},
		{"LOG_LEVEL trimmed", map[string]string{"LOG_LEVEL": " warn "}, func(c *config.Config) { c.LogLevel = "warn" }},
		{"SIGNING_KEY", map[string]string{"SIGNING_KEY": " PRIVATE+KEY+audit.example.com+1+abc "}, func(c *config.Config) { c.SigningKey = "PRIVATE+KEY+audit.example.com+1+abc" }},
		{"LOG_NAME", map[string]string{"LOG_NAME": "audit.example.com"}, func(c *config.Config) { c.LogName = "audit.example.com" }},
		{"LOG_NAME blank", map[string]string{"LOG_NAME": "\t"}, func(c *config.Config) {}},
		{"REDIS_URL", map[string]string{"REDIS_URL": "redis://cache:6379/0 "}, func(c *config.Config) { c.RedisURL = "redis://cache:6379/0" }},

		{"RATE_LIMIT_LOGIN_IP", map[string]string{"RATE_LIMIT_LOGIN_IP": "5/30s"}, func(c *config.Config) {
			c.RateLimitLoginIP = ratelimit.Rule{Limit: 5, Period: 30 * time.Second}
		}},
		{"RATE_LIMIT_LOGIN_ACCOUNT", map[string]string{"RATE_LIMIT_LOGIN_ACCOUNT": "3/m"}, func(c *config.Config) {
			c.RateLimitLoginAccount = ratelimit.Rule{Limit: 3, Period: time.Minute}
		}},
		{"RATE_LIMIT_READS off", map[string]string{"RATE_LIMIT_READS": "off"}, func(c *config.Config) { c.RateLimitReads = ratelimit.Rule{} }},
		{"RATE_LIMIT_INGEST", map[string]string{"RATE_LIMIT_INGEST": " 100 / 1s "}, func(c *config.Config) {
			c.RateLimitIngest = ratelimit.Rule{Limit: 100, Period: time.Second}
		}},
		{"RATE_LIMIT_INGEST blank", map[string]string{"RATE_LIMIT_INGEST": "  "}, func(c *config.Config) {}},
		{"RATE_LIMIT_SIGNUP", map[string]string{"RATE_LIMIT_SIGNUP": "2/1h"}, func(c *config.Config) {
			c.RateLimitSignUp = ratelimit.Rule{Limit: 2, Period: time.Hour}
		}},
		{"RATE_LIMIT_SIGNUP off", map[string]string{"RATE_LIMIT_SIGNUP": "off"}, func(c *config.Config) { c.RateLimitSignUp = ratelimit.Rule{} }},

		{"LIST_CACHE_MB", map[string]string{"LIST_CACHE_MB": " 64 "}, func(c *config.Config) { c.ListCacheMB = 64 }},
		{"LIST_CACHE_MB off", map[string]string{"LIST_CACHE_MB": "0"}, func(c *config.Config) { c.ListCacheMB = 0 }},
		{"METRICS_ADDR", map[string]string{"METRICS_ADDR": " 127.0.0.1:9464 "}, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:9464" }},
		{"METRICS_ADDR blank", map[string]string{"METRICS_ADDR": " "}, func(c *config.Config) {}},
		{"STREAMS_ALLOW_*", map[string]string{"STREAMS_ALLOW_HTTP": "true", "STREAMS_ALLOW_PRIVATE": "1"}, func(c *config.Config) {
			c.StreamsAllowHTTP, c.StreamsAllowPrivate = true, true
		}},
		{"retention", map[string]string{"RETENTION_DAYS": "90", "RETENTION_MIN_DAYS": "7", "RETENTION_MAX_DAYS": "365", "PRUNE_INTERVAL": "15m", "PRUNE_BATCH": "1000"},
			func(c *config.Config) {
				c.RetentionDays, c.RetentionMinDays, c.RetentionMaxDays, c.PruneInterval, c.PruneBatch = 90, 7, 365, 15*time.Minute, 1000
			}},
		{"PRUNE_INTERVAL off", map[string]string{"PRUNE_INTERVAL": "off"}, func(c *config.Config) { c.PruneInterval = 0 }},
		{"LIST_CACHE_MB blank", map[string]string{"LIST_CACHE_MB": ""}, func(c *config.Config) {}},
		{"CHAT_LLM", map[string]string{"CHAT_LLM_URL": " http://127.0.0.1:11434/v1 ", "CHAT_LLM_MODEL": "llama3.1", "CHAT_LLM_API_KEY": "k"}, func(c *config.Config) {
			c.ChatLLMURL, c.ChatLLMModel, c.ChatLLMAPIKey = "http://127.0.0.1:11434/v1", "llama3.1", "k"
		}},

		{"PUBLIC_SIGNUP false", map[string]string{"PUBLIC_SIGNUP": "false"}, func(c *config.Config) { c.PublicSignUp = false }},
		{"PUBLIC_SIGNUP true", map[string]string{"PUBLIC_SIGNUP": "true"}, func(c *config.Config) {}},
		{"PUBLIC_SIGNUP empty", map[string]string{"PUBLIC_SIGNUP": ""}, func(c *config.Config) {}},

		// The variable names the check; the field names the exception.
		{"BREACHED_PASSWORD_CHECK false", map[string]string{"BREACHED_PASSWORD_CHECK": "false"}, func(c *config.Config) { c.AllowBreachedPasswords = true }},
		{"BREACHED_PASSWORD_CHECK true", map[string]string{"BREACHED_PASSWORD_CHECK": "true"}, func(c *config.Config) {}},
		{"BREACHED_PASSWORD_CHECK empty", map[string]string{"BREACHED_PASSWORD_CHECK": ""}, func(c *config.Config) {}},

		{"TLS files", map[string]string{"TLS_CERT_FILE": " cert.pem", "TLS_KEY_FILE": "key.pem "}, func(c *config.Config) {
			c.TLSCertFile, c.TLSKeyFile = "cert.pem", "key.pem"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := config.Default()
			tt.want(&want)
			got, err := config.FromEnv(lookup(tt.env))
			if err != nil {
				t.Fatalf("FromEnv(%q): %v", tt.env, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("FromEnv(%q) = %+v\nwant %+v", tt.env, got, want)
			}
		})
	}
}

// TestFromEnvErrors checks that each malformed value is refused with an
// error naming the variable and the value.
func TestFromEnvErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORT": "http"}, `PORT="http": want a number`},
		{map[string]string{"PORT": " 80"}, `PORT=" 80": want a number`},
		{map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, `TRUSTED_PROXIES: "proxy.local" is not an IP address or CIDR prefix`},
		{map[string]string{"SESSION_IDLE_TIMEOUT": "2 hours"}, `SESSION_IDLE_TIMEOUT="2 hours": want a positive duration such as 30m or 12h`},
		{map[string]string{"SESSION_IDLE_TIMEOUT": "0s"}, `SESSION_IDLE_TIMEOUT="0s": want a positive duration such as 30m or 12h`},
		{map[string]string{"SESSION_MAX_AGE": "-1h"}, `SESSION_MAX_AGE="-1h": want a positive duration such as 30m or 12h`},
		{map[string]string{"COOKIE_SECURE": "yes"}, `COOKIE_SECURE="yes": want true or false`},
		{map[string]string{"RATE_LIMIT_LOGIN_IP": "lots"}, `RATE_LIMIT_LOGIN_IP: "lots": want N/DURATION such as 10/1m, or off`},
		{map[string]string{"RATE_LIMIT_LOGIN_ACCOUNT": "10"}, `RATE_LIMIT_LOGIN_ACCOUNT: "10": want N/DURATION such as 10/1m, or off`},
		{map[string]string{"RATE_LIMIT_READS": "10/0s"}, `RATE_LIMIT_READS: "10/0s": want N/DURATION such as 10/1m, with a duration of at least 1ms`},
		{map[string]string{"RATE_LIMIT_INGEST": "-5/1s"}, `RATE_LIMIT_INGEST: "-5/1s": want N/DURATION such as 10/1m, or off`},
		{map[string]string{"BREACHED_PASSWORD_CHECK": "maybe"}, `BREACHED_PASSWORD_CHECK="maybe": want true or false`},
		{map[string]string{"RATE_LIMIT_SIGNUP": "5"}, `RATE_LIMIT_SIGNUP: "5": want N/DURATION such as 10/1m, or off`},
		{map[string]string{"PUBLIC_SIGNUP": "no way"}, `PUBLIC_SIGNUP="no way": want true or false`},
		{map[string]string{"STREAMS_ALLOW_PRIVATE": "sure"}, `STREAMS_ALLOW_PRIVATE="sure": want true or false`},
		{map[string]string{"LIST_CACHE_MB": "-1"}, `LIST_CACHE_MB="-1": want a whole number of MiB from 0 (off) to 65536`},
		{map[string]string{"LIST_CACHE_MB": "16MB"}, `LIST_CACHE_MB="16MB": want a whole number of MiB from 0 (off) to 65536`},
		{map[string]string{"RETENTION_DAYS": "-1"}, `RETENTION_DAYS="-1": want a number of days from 0 to 36500`},
		{map[string]string{"RETENTION_MAX_DAYS": "90d"}, `RETENTION_MAX_DAYS="90d": want a number of days from 0 to 36500`},
		{map[string]string{"PRUNE_BATCH": "0"}, `PRUNE_BATCH="0": want a number of events from 1 to 100000`},
		{map[string]string{"PRUNE_INTERVAL": "soon"}, `PRUNE_INTERVAL="soon": want a positive duration such as 30m or 12h`},
		{map[string]string{"WITNESSES": "https://w1.example/"}, `WITNESSES: "https://w1.example/": want a witness's URL and its verifier key separated by a space`},
		{map[string]string{"WITNESSES": "ftp://w1 w1+1a2b3c4d+BAAA"}, `WITNESSES: "ftp://w1" is not an http or https URL`},
		{map[string]string{"WITNESSES": "https://w1 w1+1a2b+BAAA"}, `WITNESSES: "w1+1a2b+BAAA" is not a witness verifier key <name>+<key ID>+<key>`},
		{map[string]string{"WITNESSES": "https://w1 w1+1a2b3c4d+BAAA, https://w2 w1+1a2b3c4d+BAAA"}, `WITNESSES: witness key "w1+1a2b3c4d+BAAA" is given twice`},
		{map[string]string{"WITNESS_QUORUM": "0"}, `WITNESS_QUORUM="0": want a whole number of witnesses, at least 1`},
		{map[string]string{"CHAT_LLM_URL": "ftp://x", "CHAT_LLM_MODEL": "m"}, `CHAT_LLM_URL="ftp://x": want the http(s) base URL of an OpenAI-compatible API, such as http://127.0.0.1:11434/v1`},
		{map[string]string{"CHAT_LLM_URL": "http://127.0.0.1:11434/v1"}, `CHAT_LLM_URL is set but CHAT_LLM_MODEL is not: name the model to use`},
		// Every error is reported, not only the first.
		{map[string]string{"PORT": "x", "COOKIE_SECURE": "y"}, "PORT=\"x\": want a number\nCOOKIE_SECURE=\"y\": want true or false"},
	}
	for _, tt := range tests {
		_, err := config.FromEnv(lookup(tt.env))
		if err == nil || err.Error() != tt.want {
			t.Errorf("FromEnv(%q) error = %v\nwant %s", tt.env, err, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	key32 := strings.Repeat("k", config.MinSecretKeyLen)
	tests := []struct {
		name string
		set  func(c *config.Config) // applied to a valid production configuration
		want string                 // the error, or "" for none
	}{
		{"valid production", func(c *config.Config) {}, ""},
		{"production without SECRET_KEY", func(c *config.Config) { c.SecretKey = "" },
			"SECRET_KEY is not set: set it to a random string of at least 32 characters (for example the output of `openssl rand -hex 32`), or run in development with AUDITLOG_ENV=development or --dev"},
		{"production with a short SECRET_KEY", func(c *config.Config) { c.SecretKey = key32[1:] },
			"SECRET_KEY is 31 characters long: use at least 32 random characters in production"},
		{"production with a long SECRET_KEY", func(c *config.Config) { c.SecretKey = key32 + key32 }, ""},
		{"development without SECRET_KEY", func(c *config.Config) { c.Env, c.SecretKey = config.Development, "" }, ""},
		{"witness quorum above the witnesses", func(c *config.Config) {
			c.Witnesses, c.WitnessQuorum = []config.Witness{{URL: "https://w1", Key: "w1+1a2b3c4d+BAAA"}}, 2
		}, "WITNESS_QUORUM=2: want at most the 1 witnesses of WITNESSES"},
		{"development with a short SECRET_KEY", func(c *config.Config) { c.Env, c.SecretKey = config.Development, "short" }, ""},
		// An unknown environment is refused, and treated as production.
		{"unknown environment", func(c *config.Config) { c.Env = "staging" }, `AUDITLOG_ENV="staging": want development or production`},
		{"unknown environment without SECRET_KEY", func(c *config.Config) { c.Env, c.SecretKey = "Development", "" },
			"AUDITLOG_ENV=\"Development\": want development or production\nSECRET_KEY is not set: set it to a random string of at least 32 characters (for example the output of `openssl rand -hex 32`), or run in development with AUDITLOG_ENV=development or --dev"},

		{"port 0", func(c *config.Config) { c.Port = 0 }, ""},
		{"port 65535", func(c *config.Config) { c.Port = 65535 }, ""},
		{"port 65536", func(c *config.Config) { c.Port = 65536 }, "PORT=65536: want 0 to 65535"},
		{"negative port", func(c *config.Config) { c.Port = -1 }, "PORT=-1: want 0 to 65535"},

		{"log level error", func(c *config.Config) { c.LogLevel = "error" }, ""},
		{"log level in capitals", func(c *config.Config) { c.LogLevel = "DEBUG" }, `LOG_LEVEL="DEBUG": want debug, info, warn or error`},
		{"log level trace", func(c *config.Config) { c.LogLevel = "trace" }, `LOG_LEVEL="trace": want debug, info, warn or error`},

		{"log name", func(c *config.Config) { c.LogName = "audit.example.com" }, ""},
		{"empty log name", func(c *config.Config) { c.LogName = "" }, `LOG_NAME="": want a name without spaces or '+', such as audit.example.com`},
		{"log name with a space", func(c *config.Config) { c.LogName = "audit log" }, `LOG_NAME="audit log": want a name without spaces or '+', such as audit.example.com`},
		{"log name with a plus", func(c *config.Config) { c.LogName = "audit+log" }, `LOG_NAME="audit+log": want a name without spaces or '+', such as audit.example.com`},
		{"log name with a newline", func(c *config.Config) { c.LogName = "audit\nlog" }, `LOG_NAME="audit\nlog": want a name without spaces or '+', such as audit.example.com`},

		{"retention within bounds", func(c *config.Config) { c.RetentionDays, c.RetentionMinDays, c.RetentionMaxDays = 90, 30, 365 }, ""},
		{"retention minimum above maximum", func(c *config.Config) { c.RetentionDays, c.RetentionMinDays, c.RetentionMaxDays = 90, 400, 365 }, "RETENTION_MIN_DAYS (400) is more than RETENTION_MAX_DAYS (365)"},
		{"retention default forever under a maximum", func(c *config.Config) { c.RetentionMaxDays = 365 }, "RETENTION_DAYS is 0 (forever) but RETENTION_MAX_DAYS is 365: set RETENTION_DAYS to at most 365"},

		{"TLS certificate and key", func(c *config.Config) { c.TLSCertFile, c.TLSKeyFile = "cert.pem", "key.pem" }, ""},
		{"TLS certificate alone", func(c *config.Config) { c.TLSCertFile = "cert.pem" }, "TLS_CERT_FILE and TLS_KEY_FILE must be set together"},
		{"TLS key alone", func(c *config.Config) { c.TLSKeyFile = "key.pem" }, "TLS_CERT_FILE and TLS_KEY_FILE must be set together"},

		{"metrics on loopback", func(c *config.Config) { c.MetricsAddr = "127.0.0.1:9464" }, ""},
		{"metrics on any address", func(c *config.Config) { c.MetricsAddr = ":9464" }, ""},
		{"metrics on any free port", func(c *config.Config) { c.MetricsAddr = "[::1]:0" }, ""},
		{"metrics on the API's port, another host", func(c *config.Config) { c.MetricsAddr = "10.0.0.5:5000" }, ""},
		{"metrics without a port", func(c *config.Config) { c.MetricsAddr = "127.0.0.1" }, `METRICS_ADDR="127.0.0.1": want host:port, such as 127.0.0.1:9464`},
		{"metrics with a port name", func(c *config.Config) { c.MetricsAddr = "127.0.0.1:http" }, `METRICS_ADDR="127.0.0.1:http": want a port number from 0 to 65535`},
		{"metrics port out of range", func(c *config.Config) { c.MetricsAddr = "127.0.0.1:70000" }, `METRICS_ADDR="127.0.0.1:70000": want a port number from 0 to 65535`},
		{"metrics on the API's address", func(c *config.Config) { c.MetricsAddr = "127.0.0.1:5000" },
			`METRICS_ADDR="127.0.0.1:5000" is the API's address (127.0.0.1:5000): the metrics need a listener of their own`},
		{"metrics on the API's port, all addresses", func(c *config.Config) { c.MetricsAddr = ":5000" },
			`METRICS_ADDR=":5000" is the API's address (127.0.0.1:5000): the metrics need a listener of their own`},

		{"idle timeout equal to max age", func(c *config.Config) { c.SessionIdle, c.SessionMaxAge = time.Hour, time.Hour }, ""},
		{"idle timeout longer than max age", func(c *config.Config) { c.SessionIdle, c.SessionMaxAge = 3*time.Hour, 2*time.Hour },
			"SESSION_IDLE_TIMEOUT (3h0m0s) is longer than SESSION_MAX_AGE (2h0m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			c.SecretKey = key32
			tt.set(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v; want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("Validate() = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    []string // the prefixes, as netip.Prefix.String
		wantErr string
	}{
		{"", nil, ""},
		{" , ,", nil, ""},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}, ""},
		{"10.0.0.0/8, 127.0.0.1", []string{"10.0.0.0/8", "127.0.0.1/32"}, ""},
		{"10.1.2.3/8", []string{"10.0.0.0/8"}, ""}, // masked
		{"::1,fd00::/8", []string{"::1/128", "fd00::/8"}, ""},
		{"::ffff:192.0.2.1", []string{"192.0.2.1/32"}, ""}, // an IPv4-mapped address is the IPv4 address
		{"10.0.0.0/8,bogus", nil, `"bogus" is not an IP address or CIDR prefix`},
		{"10.0.0.0/33", nil, `"10.0.0.0/33" is not an IP address or CIDR prefix`},
		{"192.0.2.1-192.0.2.9", nil, `"192.0.2.1-192.0.2.9" is not an IP address or CIDR prefix`},
	}
	for _, tt := range tests {
		ps, err := config.ParsePrefixes(tt.in)
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		if !reflect.DeepEqual(got, tt.want) || errText != tt.wantErr {
			t.Errorf("ParsePrefixes(%q) = %q, %q; want %q, %q", tt.in, got, errText, tt.want, tt.wantErr)
		}
	}
}

func TestAddrAndDev(t *testing.T) {
	c := config.Default()
	if got := c.Addr(); got != "127.0.0.1:5000" {
		t.Errorf("Addr() = %q; want 127.0.0.1:5000", got)
	}
	c.Host, c.Port = "::1", 0
	if got := c.Addr(); got != "[::1]:0" {
		t.Errorf("Addr() = %q; want [::1]:0", got)
	}
	if c.Dev() {
		t.Error("Dev() in production")
	}
	c.Env = config.Development
	if !c.Dev() {
		t.Error("not Dev() in development")
	}
}

// writeFile writes a file in a fresh directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEnvironment checks where Environment's values come from: the lookup
// it is given first, then the .env file.
func TestEnvironment(t *testing.T) {
	dotenv := writeFile(t, ".env", "# the seed's .env, and more\nFLASK_ENV=development\nDATABASE_URL=sqlite:///from-file.db\nexport LOG_NAME=\"audit.example.com\"\nPORT=1\n")
	missing := filepath.Join(t.TempDir(), ".env")
	env := map[string]string{"PORT": "8080", "HOST": "0.0.0.0", "LOG_LEVEL": ""}
	type want struct {
		value string
		ok    bool
	}
	tests := []struct {
		name string
		path string
		env  config.LookupFunc
		want map[string]want
	}{
		{"lookup wins over the file", dotenv, lookup(env), map[string]want{
			"PORT":         {"8080", true},
			"HOST":         {"0.0.0.0", true},
			"DATABASE_URL": {"sqlite:///from-file.db", true},
			"FLASK_ENV":    {"development", true},
			"LOG_NAME":     {"audit.example.com", true},
			"SECRET_KEY":   {"", false},
		}},
		// Set but empty is still set, as with os.LookupEnv.
		{"an empty variable is set", dotenv, lookup(map[string]string{"DATABASE_URL": ""}), map[string]want{
			"DATABASE_URL": {"", true},
		}},
		{"no lookup: the file only", dotenv, nil, map[string]want{
			"PORT": {"1", true},
			"HOST": {"", false},
		}},
		{"missing file", missing, lookup(env), map[string]want{
			"PORT":         {"8080", true},
			"DATABASE_URL": {"", false},
		}},
		{"no file", "", lookup(env), map[string]want{
			"HOST":     {"0.0.0.0", true},
			"LOG_NAME": {"", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Environment(tt.path, tt.env)
			if err != nil {
				t.Fatalf("Environment(%q): %v", tt.path, err)
			}
			for name, w := range tt.want {
				if v, ok := got(name); v != w.value || ok != w.ok {
					t.Errorf("lookup(%s) = %q, %v; want %q, %v", name, v, ok, w.value, w.ok)
				}
			}
		})
	}
}

// TestEnvironmentIgnoresProcess checks that only the lookup given is asked:
// variables of the process are invisible, whether or not the file has them.
func TestEnvironmentIgnoresProcess(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://process/env")
	t.Setenv("SECRET_KEY", "a-secret-key-from-the-process-environment")
	dotenv := writeFile(t, ".env", "DATABASE_URL=sqlite:///from-file.db\n")
	get, err := config.Environment(dotenv, lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := get("DATABASE_URL"); v != "sqlite:///from-file.db" || !ok {
		t.Errorf("DATABASE_URL = %q, %v; want the file's, not the process's", v, ok)
	}
	if v, ok := get("SECRET_KEY"); ok {
		t.Errorf("SECRET_KEY = %q from the process environment; want unset", v)
	}
}

func TestEnvironmentErrors(t *testing.T) {
	t.Run("unreadable file", func(t *testing.T) {
		dir := t.TempDir() // a directory opens, but does not read
		_, err := config.Environment(dir, lookup(nil))
		if err == nil || !strings.HasPrefix(err.Error(), "read "+dir+": ") || !errors.Is(err, syscall.EISDIR) {
			t.Errorf("Environment(a directory) = %v; want read %s: …, wrapping EISDIR", err, dir)
		}
	})
	t.Run("malformed file", func(t *testing.T) {
		path := writeFile(t, ".env", "GOOD=1\nNOT A SETTING\n")
		_, err := config.Environment(path, lookup(nil))
		if err == nil || !strings.HasPrefix(err.Error(), "read "+path+": ") {
			t.Errorf("Environment(a malformed file) = %v; want read %s: …", err, path)
		}
	})
}

// TestFromDotenv reads a whole configuration through Environment, as the
// command does: the seed's .env runs in development, and the lookup's
// values win.
func TestFromDotenv(t *testing.T) {
	path := writeFile(t, ".env", "FLASK_ENV=development\nPORT=5001\nRATE_LIMIT_READS=off\nCOOKIE_SECURE=true\n")
	get, err := config.Environment(path, lookup(map[string]string{"PORT": "6000", "COOKIE_SECURE": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.FromEnv(get)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Env, want.Port, want.RateLimitReads = config.Development, 6000, ratelimit.Rule{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromEnv = %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate() = %v; want nil in development without SECRET_KEY", err)
	}
}
