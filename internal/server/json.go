package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

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
// may send more than the service reads. Every failure is an *audit.Error that
// says what is wrong and, for a field of the wrong type, names the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return audit.Errorf(audit.EUNSUPPORTED, "Content-Type must be application/json.")
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	err := dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return audit.Errorf(audit.EINVALID, "Request body must hold a single JSON object.")
		}
		return nil
	}
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return audit.Errorf(audit.ETOOLARGE, "Request body must be at most %d bytes.", maxBodyBytes)
	case errors.Is(err, io.EOF):
		return audit.Errorf(audit.EINVALID, "Request body is required: send a JSON object.")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return audit.FieldError(typeErr.Field, "%s must be a JSON %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &typeErr):
		return audit.Errorf(audit.EINVALID, "Request body must be a JSON object.")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return audit.Errorf(audit.EINVALID, "Request body is not valid JSON.")
	}
	return audit.Errorf(audit.EINVALID, "Request body could not be read: %s", safeDecodeMessage(err))
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

// safeDecodeMessage keeps the decoder's message only when it is about the
// JSON itself, which never holds internal detail.
func safeDecodeMessage(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "json: ") {
		return strings.TrimPrefix(msg, "json: ")
	}
	return "malformed body"
}
