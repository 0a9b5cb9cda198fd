package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
)

// TestGolden compares the HTML of the main pages with testdata/*.html, after
// replacing what changes from run to run (times, hashes, keys, asset
// versions). go test -update rewrites them.
func TestGolden(t *testing.T) {
	e := newTestEnv(t)
	owner := e.client()
	owner.signIn(audit.RoleOwner)
	analyst := e.client()
	analyst.signIn(audit.RoleAnalyst)
	for _, tt := range []struct {
		name string
		c    *browserClient
		path string
	}{
		{"signin", e.client(), "/signin"},
		{"events", owner, "/events"},
		{"event", owner, "/events/" + strconv.FormatInt(e.detailed, 10)},
		{"people", owner, "/people"},
		{"keys", owner, "/keys"},
		{"account", owner, "/account"},
		{"account-analyst", analyst, "/account"},
		{"mfa", analyst, "/account/mfa"},
		{"password", analyst, "/account/password"},
		{"streams", owner, "/account/streams"},
		{"alerts", owner, "/account/alerts"},
		{"data", owner, "/account/data"},
		{"refused", analyst, "/events"},
		{"dashboard", owner, "/dashboard?range=30d"},
		{"chat", owner, "/chat"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := normalize(tt.c.get(tt.path).body)
			if tt.name == "dashboard" {
				// The sample's events are placed relative to now, so
				// the counts and bars move with the clock: compare
				// the page's structure.
				// Their ranking too: the top lists' values are replaced.
				got = topValue.ReplaceAllString(digits.ReplaceAllString(got, "N"), `$1"LINK"$2>VALUE</a>`)
				got = collapse(months.ReplaceAllString(got, "MON"))
			}
			file := filepath.Join("testdata", tt.name+".html")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", tt.path, file, firstDiff(string(want), got))
			}
		})
	}
}

// digits are the numbers of a page whose numbers move with the clock.
var digits = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// topValue is a value of a dashboard's top list and its link.
var topValue = regexp.MustCompile(`(<td data-label="(?:Action|Actor|Resource type)"><a href=)"[^"]*"((?: class="action")?)>[^<]*</a>`)

// months are the month names of a chart's axis.
var months = regexp.MustCompile(`\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b`)

// collapse writes runs of equal lines once: the number of bars and table
// rows of a chart depends on the hour the test runs at.
func collapse(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if len(out) == 0 || out[len(out)-1] != l {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// variable are the parts of a page that change from run to run.
var variable = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z`), "TIME"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`), "TIME UTC"},
	{regexp.MustCompile(`\?v=[0-9a-f]{12}`), "?v=VERSION"},
	{regexp.MustCompile(`\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}`), "+KEYHASH+KEY"},
	{regexp.MustCompile(`[0-9a-f]{64}`), "HEX"},
	{regexp.MustCompile(`[A-Za-z0-9+/]{43}=`), "BASE64"},
	{regexp.MustCompile(`alk_[0-9a-f]{12}`), "alk_PREFIX"},
	{regexp.MustCompile(`(cursor|since|start_date)=[A-Za-z0-9_%.\-]+`), "$1=VALUE"},
	{regexp.MustCompile(`(?m)^— (\S+) \S+$`), "— $1 SIGNATURE"},
	{regexp.MustCompile(`data-(created-at|occurred-at)="\d*"`), `data-$1="MICROS"`},
}

func normalize(s string) string {
	s = strings.ReplaceAll(s, "&#43;", "+") // html/template's escape of + in attributes
	for _, v := range variable {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// firstDiff shows the first line where want and got differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + wl + "\ngot:  " + gl
		}
	}
	return ""
}
