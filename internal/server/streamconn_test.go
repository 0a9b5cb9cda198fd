package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

// TestCorkConn checks that a corked connection sends what it gathered
// with one write when uncorked (early past corkLimit), that an uncorked one
// writes at once, and that a peer that reads nothing fails the write after
// the timeout, and every write after it.
func TestCorkConn(t *testing.T) {
	big := bytes.Repeat([]byte("x"), corkLimit-10)
	for _, tc := range []struct {
		name   string
		corked bool
		writes [][]byte
		// reads are the sizes of the writes the peer sees, in order:
		// each network write is one read of net.Pipe.
		reads []int
	}{
		{"uncorked: each write goes at once", false, [][]byte{[]byte("ab"), []byte("cde")}, []int{2, 3}},
		{"corked: one write at uncork", true, [][]byte{[]byte("ab"), []byte("cde"), []byte("f")}, []int{6}},
		{"corked past the limit: what was gathered goes early", true, [][]byte{big, []byte("0123456789abc")}, []int{len(big), 13}},
		{"corked, a write larger than the limit", true, [][]byte{[]byte("ab"), bytes.Repeat([]byte("y"), corkLimit+1)}, []int{2, corkLimit + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := net.Pipe()
			defer server.Close()
			defer client.Close()
			c := &corkConn{Conn: server, timeout: 5 * time.Second}
			reads := make(chan int, 10)
			go func() {
				buf := make([]byte, 4*corkLimit)
				for {
					n, err := client.Read(buf)
					if err != nil {
						close(reads)
						return
					}
					reads <- n
				}
			}()
			if tc.corked {
				c.cork()
			}
			for _, w := range tc.writes {
				if n, err := c.Write(w); err != nil || n != len(w) {
					t.Fatalf("Write(%d bytes) = %d, %v", len(w), n, err)
				}
			}
			if err := c.uncork(); err != nil {
				t.Fatal(err)
			}
			server.Close()
			var got []int
			for n := range reads {
				got = append(got, n)
			}
			// net.Pipe splits nothing: a read returns one write whole
			// when the buffer is large enough.
			if !slices.Equal(got, tc.reads) {
				t.Errorf("the peer read %v; want %v", got, tc.reads)
			}
		})
	}

	t.Run("a peer that does not read", func(t *testing.T) {
		server, client := net.Pipe()
		defer server.Close()
		defer client.Close()
		c := &corkConn{Conn: server, timeout: 50 * time.Millisecond}
		c.cork()
		if _, err := c.Write([]byte("event")); err != nil {
			t.Fatalf("a corked write failed: %v", err)
		}
		start := time.Now()
		if err := c.uncork(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("uncork: %v; want the deadline exceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("uncork took %v; want about the timeout", d)
		}
		if _, err := c.Write([]byte("more")); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a write after the failure: %v; want the same failure", err)
		}
		go io.Copy(io.Discard, client)
	})
}
