package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestServeTLS serves HTTPS from certificate and key files: the sample
// owner signs in, the session cookie is Secure and HSTS is sent.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	certPEM, keyPEM := selfSigned(t)
	os.WriteFile("cert.pem", certPEM, 0o600)
	os.WriteFile("key.pem", keyPEM, 0o600)

	addr, stop := startServe(t, envMap(map[string]string{"SECRET_KEY": "a-test-secret-key-that-is-long-enough"}), "https://",
		"--sample", "--tls-cert", "cert.pem", "--tls-key", "key.pem")

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	hc := &http.Client{Timeout: testHTTP.Timeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Post("https://"+addr+"/api/auth/login", "application/json",
		strings.NewReader(`{"email": "owner@sample-store.com", "password": "owner123"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("login over TLS: %d", resp.StatusCode)
	}
	if c := resp.Header.Get("Set-Cookie"); !strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
		t.Errorf("Set-Cookie %q; want Secure and HttpOnly", c)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
		t.Errorf("Strict-Transport-Security %q", h)
	}
	// Plain HTTP to the TLS port gets no API.
	if resp, err := testHTTP.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS port")
		}
	}
	stop()
}

func TestServeSecurityConfigErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"TLS_CERT_FILE": "cert.pem"}, nil, "TLS_CERT_FILE and TLS_KEY_FILE must be set together"},
		{map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"}, nil, "REDIS_URL: cannot reach Redis"},
		{nil, []string{"--redis-url", "nope://x"}, "REDIS_URL"},
		{map[string]string{"RATE_LIMIT_LOGIN_IP": "lots"}, nil, "RATE_LIMIT_LOGIN_IP"},
		{map[string]string{"BREACHED_PASSWORD_CHECK": "maybe"}, nil, "BREACHED_PASSWORD_CHECK"},
	} {
		var out bytes.Buffer
		env := map[string]string{"SECRET_KEY": "a-test-secret-key-that-is-long-enough"}
		for k, v := range tt.env {
			env[k] = v
		}
		err := runTest(t, append([]string{"serve", "--port", "0"}, tt.args...), envMap(env), &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve with %v %v: %v; want an error naming %q", tt.env, tt.args, err, tt.want)
		}
	}
}

// waitListeningScheme reads serve's output until it names its address. It
// fails the test when serve ends first (with the error that ended the
// output, if any) or does not listen within listenDeadline.
func waitListeningScheme(t *testing.T, r io.Reader, scheme string) string {
	t.Helper()
	type result struct {
		addr string
		err  error // why the output ended, when it ended before the address
	}
	found := make(chan result, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "auditlog listening on "+scheme); ok {
				found <- result{addr: addr}
				io.Copy(io.Discard, r)
				return
			}
		}
		found <- result{err: sc.Err()}
	}()
	select {
	case res := <-found:
		if res.addr == "" {
			t.Fatalf("serve ended without listening: %v", res.err)
		}
		return res.addr
	case <-time.After(listenDeadline):
		t.Fatalf("serve did not start listening within %s", listenDeadline)
	}
	return ""
}

// selfSigned returns a PEM certificate and key for 127.0.0.1.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auditlog test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
