package client

import (
	"context"
	"io"
	"net/http"

	"github.com/auditlog/auditlog/exportfile"
)

// VerifyExport checks an NDJSON export (Export with FormatNDJSON) offline,
// with the service's verifier key alone: that its checkpoint is signed by
// the key and names the log of the account the file says, that every
// event is what the log holds (its leaf hash and personal-data
// commitment), in log order, and either the whole log up to the
// checkpoint or, for a filtered export, each in the log by its inclusion
// proof; and that the file is complete (its end line counts its events).
// It returns a report when every check passed, and otherwise an
// *exportfile.Failure naming the first problem's line.
//
// It runs the same code as the service and `auditlog verify`
// (exportfile.Verify). Take the key from a source you trust, not from the
// service whose export you check: see VerifierKey.
func VerifyExport(r io.Reader, verifierKey string) (*exportfile.Report, error) {
	return exportfile.Verify(r, verifierKey)
}

// VerifierKey fetches the key that signs the service's checkpoints now
// (GET /api/verifier-key). A service that rewrote its log could serve a
// key of its own making, so a verifier should fetch it once, keep it, and
// compare: pin it in your configuration rather than fetch it before each
// check.
func (c *Client) VerifierKey(ctx context.Context) (string, error) {
	var out struct {
		Key string `json:"verifier_key"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/api/verifier-key"}, nil, &out); err != nil {
		return "", err
	}
	return out.Key, nil
}
