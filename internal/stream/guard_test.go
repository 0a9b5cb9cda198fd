package stream

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

func TestCheckURL(t *testing.T) {
	strict, open := Policy{}, Policy{AllowHTTP: true, AllowPrivate: true}
	tests := []struct {
		url     string
		p       Policy
		wantErr string // part of the message; "" for none
	}{
		{"https://203.0.113.10/hook", strict, ""},
		{"https://[2001:db8::1]/hook", strict, ""},
		{"", strict, "required"},
		{"http://203.0.113.10/hook", strict, "https://"},
		{"http://203.0.113.10/hook", open, ""},
		{"ftp://203.0.113.10/", strict, "https://"},
		{"/relative", strict, "absolute"},
		{"https://user:pw@203.0.113.10/", strict, "credentials"},
		{"https://127.0.0.1/", strict, "loopback"},
		{"https://127.8.9.10:8443/", strict, "loopback"},
		{"https://10.0.0.1/", strict, "private"},
		{"https://172.16.5.4/", strict, "private"},
		{"https://192.168.1.1/", strict, "private"},
		{"https://169.254.169.254/latest/meta-data", strict, "link-local"},
		{"https://[::1]/", strict, "loopback"},
		{"https://[fc00::1]/", strict, "private"},
		{"https://[fd12:3456::1]/", strict, "private"},
		{"https://[fe80::1]/", strict, "link-local"},
		{"https://[::ffff:10.0.0.1]/", strict, "private"},
		{"https://0.0.0.0/", strict, "local"},
		{"https://100.64.1.1/", strict, "shared"},
		{"https://localhost:8443/", strict, "resolves to"}, // a name that resolves to loopback
		{"https://127.0.0.1/", open, ""},
		{"https://localhost/", open, ""},
	}
	for _, tt := range tests {
		err := tt.p.CheckURL(context.Background(), tt.url)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v; want nil", tt.url, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckURL(%q) = %v; want an error saying %q", tt.url, err, tt.wantErr)
		case err != nil && audit.ErrorField(err) != "url":
			t.Errorf("CheckURL(%q) = %v; want field url", tt.url, err)
		}
	}
}

func TestControl(t *testing.T) {
	for addr, refused := range map[string]bool{
		"127.0.0.1:443": true, "10.9.8.7:443": true, "169.254.169.254:80": true, "[::1]:443": true,
		"[fc00::5]:443": true, "[::ffff:192.168.0.1]:443": true, "203.0.113.5:443": false, "[2001:db8::5]:443": false,
	} {
		err := Policy{}.control("tcp", addr, nil)
		if (err != nil) != refused {
			t.Errorf("control(%s) = %v; want refused %v", addr, err, refused)
		}
		if err := (Policy{AllowPrivate: true}).control("tcp", addr, nil); err != nil {
			t.Errorf("control(%s) with private addresses allowed = %v", addr, err)
		}
	}
	if why := (Policy{}).Refused(netip.MustParseAddr("8.8.8.8")); why != "" {
		t.Errorf("8.8.8.8 refused: %s", why)
	}
}

// TestSign pins the webhook signature to docs/streams.md's test vector,
// which the documented openssl command reproduces.
func TestSign(t *testing.T) {
	got := Sign([]byte("whsec_test"), time.Unix(1700000000, 0), []byte(`{"a":1}`))
	want := "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
	if got != want {
		t.Errorf("Sign = %q; want %q", got, want)
	}
}

// TestWebhookBody: the body written directly is WebhookBody's JSON, as
// json.Marshal writes it, for a batch and for a test delivery.
func TestWebhookBody(t *testing.T) {
	for _, b := range []*Batch{
		{StreamID: 4503599627370497, AccountID: 7, Events: []json.RawMessage{[]byte(`{"seq":1201,"a":"x"}`), []byte(`{"seq":1202}`)},
			Seqs: []int64{1201, 1202}, Checkpoint: []byte(`{"tree_size":1236}`)},
		{StreamID: 5, AccountID: 7, Test: true},
	} {
		events := b.Events
		if events == nil {
			events = []json.RawMessage{}
		}
		want, err := json.Marshal(WebhookBody{StreamID: b.StreamID, AccountID: b.AccountID, FirstSeq: b.first(), LastSeq: b.last(),
			Events: events, Checkpoint: orNull(b.Checkpoint), Test: b.Test})
		if err != nil {
			t.Fatal(err)
		}
		if got := b.webhook(); string(got) != string(want) {
			t.Errorf("webhook body\n%s\nwant\n%s", got, want)
		}
	}
}
