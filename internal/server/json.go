package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditlog/auditlog/internal/audit"
)

// maxBodyBytes bounds the body of every JSON request the API accepts.
const maxBodyBytes = 64 << 10

// writeJSON writes v as the JSON response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	return enc.Encode(v)
}

// decodeJSON reads the request body, one JSON object of at most
// maxBodyBytes, into dst. Unknown fields are ignored, as the seed's clients
// may send more than the service reads; everything else is strict, as for
// ingest: member names match exactly and appear once, and text is valid
// UTF-8 (a lenient decoder would let two readers of one body disagree on
// what it says). Every failure is an *audit.Error that says what is wrong
// and, for a field of the wrong type or given twice, names the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return audit.Errorf(audit.EUNSUPPORTED, "Content-Type must be application/json.")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return audit.Errorf(audit.ETOOLARGE, "Request body must be at most %d bytes.", maxBodyBytes)
	case err != nil:
		return audit.Errorf(audit.EINVALID, "Request body could not be read.")
	case len(bytes.TrimSpace(body)) == 0:
		return audit.Errorf(audit.EINVALID, "Request body is required: send a JSON object.")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if err := jsonv2.UnmarshalDecode(dec, dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return audit.Errorf(audit.EINVALID, "Request body must hold a single JSON object.")
	}
	return nil
}

// decodeError turns a decoder error into a client error, without echoing
// the body.
func decodeError(err error) error {
	var (
		se  *jsonv2.SemanticError
		syn *jsontext.SyntacticError
	)
	switch {
	case errors.As(err, &se):
		field := strings.TrimPrefix(string(se.JSONPointer), "/")
		if field != "" && !strings.Contains(field, "/") && se.GoType != nil {
			return audit.FieldError(field, "%s must be a JSON %s.", field, jsonKind(se.GoType.Kind().String()))
		}
		return audit.Errorf(audit.EINVALID, "Request body must be a JSON object.")
	case errors.As(err, &syn) && errors.Is(err, jsontext.ErrDuplicateName):
		field := strings.TrimPrefix(string(syn.JSONPointer), "/")
		return audit.FieldError(field, "%s appears twice in the request body.", field)
	case errors.As(err, &syn) && strings.Contains(syn.Error(), "UTF-8"):
		return audit.Errorf(audit.EINVALID, "Request body holds text that is not valid UTF-8.")
	}
	return audit.Errorf(audit.EINVALID, "Request body is not valid JSON.")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "int32", "float64", "uint", "uint64":
		return "number"
	}
	return "value of the documented type"
}
