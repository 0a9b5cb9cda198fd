package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

var texts = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "é日本語🙂", "bad \xff\xfe utf8 \xc3", "line\u2028para\u2029", "\u00a0\ufeff\ufffd",
	`{"k":"v","n":[1,2]}`, "\xe2\x80", "\xe2\x80\xa8\xe2",
}

// TestAppendString holds AppendString to encoding/json's encoding of a
// string, byte for byte.
func TestAppendString(t *testing.T) {
	for _, s := range texts {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("%q:\n got %s\nwant x%s", s, got, want)
		}
	}
}

// TestAppendRaw holds AppendRaw to encoding/json's embedding of a
// json.RawMessage: the plain text copied, and everything encoding/json
// changes (whitespace outside strings, HTML characters, U+2028/U+2029)
// changed the same way; invalid JSON fails as it does.
func TestAppendRaw(t *testing.T) {
	for _, c := range []struct {
		raw   string
		plain bool
	}{
		{`{}`, true},
		{`[]`, true},
		{`{"a":1,"b":"two words","c":[true,false,null],"d":{"e":-1.5e3}}`, true},
		{`{"q":"a \"quoted\" \\ word"}`, true},
		{`{"u":"\u00e9 é 日本"}`, true},
		{`{"a": 1}`, false},
		{" {\"a\":1}\n", false},
		{"[1,\n2]", false},
		{`{"h":"<b>&amp;</b>"}`, false},
		{"{\"s\":\"line\u2028para\u2029\"}", false},
		{`{"e":"€"}`, false}, // U+20AC starts with 0xE2 too: the slow path, same bytes
		{`"just a string"`, true},
		{`42`, true},
	} {
		want, err := json.Marshal(json.RawMessage(c.raw))
		if err != nil {
			t.Fatal(c.raw, err)
		}
		got, err := AppendRaw(nil, []byte(c.raw))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s (%v)\nwant %s", c.raw, got, err, want)
		}
		if p := plainJSON([]byte(c.raw)); p != c.plain {
			t.Errorf("%q: plain %v, want %v", c.raw, p, c.plain)
		}
	}
	if got, err := AppendRaw(nil, nil); err != nil || string(got) != "null" {
		t.Errorf("nil: %s, %v", got, err)
	}
	for _, bad := range []string{"", "{", `{"a":<}`, "[1,]"} {
		if _, err := AppendRaw(nil, []byte(bad)); err == nil && !plainJSON([]byte(bad)) {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzAppend checks both functions against encoding/json on any input:
// AppendString on every string, AppendRaw on every valid JSON text.
func FuzzAppend(f *testing.F) {
	for _, s := range texts {
		f.Add(s)
	}
	f.Add(`{"a": [1, "<\u2028>"]}`)
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("string %q:\n got %s\nwant %s", s, got, want)
		}
		if !json.Valid([]byte(s)) {
			return
		}
		want, err := json.Marshal(json.RawMessage(s))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := AppendRaw(nil, []byte(s)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("raw %q:\n got %s (%v)\nwant %s", s, got, err, want)
		}
	})
}
