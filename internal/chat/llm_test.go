package chat

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestLLMKey checks what the model's endpoint is sent as credentials:
// CHAT_LLM_API_KEY when set, and nothing otherwise, even with
// OPENAI_API_KEY in the environment (a key for another endpoint).
func TestLLMKey(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-not-for-this-endpoint")
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "created": 1, "model": "m",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "No tools needed."}}}})
	}))
	defer srv.Close()
	for _, tt := range []struct{ key, want string }{{"", ""}, {"local-key", "Bearer local-key"}} {
		got = nil
		a, err := NewLLM(srv.URL, "m", tt.key, nil).Answer(t.Context(), nil, nil, nil, "hello", time.Now(), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != tt.want || a.Text != "No tools needed." || a.Plan.Kind != KindModel {
			t.Errorf("key %q: Authorization %q, answer %q; want %q", tt.key, got, a.Text, tt.want)
		}
	}
}
