package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file is the client of the OpenAI chat-completions API the model
// path needs: one request type, one response type, the messages and tool
// calls between them, and a bounded retry. Every OpenAI-compatible server
// (OpenAI, Ollama, llama.cpp's server, vLLM) speaks this subset.

// Bounds of the client.
const (
	// maxResponseBytes is the most of a response body read; a longer one
	// is an error.
	maxResponseBytes = 8 << 20
	// maxErrorBytes is the most of an error response read for its message.
	maxErrorBytes = 4 << 10
	// retryDelay is the wait before the one retry when the endpoint does
	// not say how long to wait.
	retryDelay = 500 * time.Millisecond
	// maxRetryAfter is the longest Retry-After honoured: an endpoint that
	// asks for a longer wait is not retried (the built-in engine answers).
	maxRetryAfter = 10 * time.Second
)

// completionRequest is the body of POST {base}/chat/completions.
type completionRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Tools    []toolDef     `json:"tools,omitempty"`
}

// chatMessage is one message of a conversation with the model: system,
// user, assistant (with the tool calls it made) or tool (the result of
// the call ToolCallID).
type chatMessage struct {
	Role string `json:"role"`
	// Content is nil only in an assistant message that made tool calls
	// and said nothing, where the API wants no content.
	Content    *string    `json:"content,omitempty"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

func message(role, content string) chatMessage {
	return chatMessage{Role: role, Content: &content}
}

func toolMessage(content, callID string) chatMessage {
	return chatMessage{Role: "tool", Content: &content, ToolCallID: callID}
}

// toolDef is a function the model may call, with its parameters as a
// JSON schema.
type toolDef struct {
	Type     string      `json:"type"`
	Function functionDef `json:"function"`
}

type functionDef struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Parameters  map[string]any `json:"parameters"`
}

// toolCall is one call the model asks for; Arguments is JSON text.
type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// completion is the part of a chat-completions response the model path
// reads.
type completion struct {
	Choices []struct {
		Message struct {
			Content   *string    `json:"content"`
			ToolCalls []toolCall `json:"tool_calls"`
		} `json:"message"`
	} `json:"choices"`
}

// completionsClient posts chat-completions requests to one endpoint.
type completionsClient struct {
	url    string // {base}/chat/completions
	apiKey string // sent as a bearer token when not empty
	hc     *http.Client
}

// statusError is a response with an error status.
type statusError struct {
	status  int
	message string // the endpoint's error message, bounded; may be empty
}

func (e *statusError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("status %d", e.status)
	}
	return fmt.Sprintf("status %d: %s", e.status, e.message)
}

// create sends req and returns the response, retrying once on a failed
// connection, 408, 429 or a 5xx status (after the endpoint's Retry-After
// when it gives one of at most maxRetryAfter, otherwise after retryDelay).
func (c *completionsClient) create(ctx context.Context, req *completionRequest) (*completion, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	for attempt := 0; ; attempt++ {
		res, wait, err := c.post(ctx, body)
		if err == nil || attempt == 1 || wait < 0 || ctx.Err() != nil {
			return res, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (while waiting to retry after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// post makes one request. On failure, wait is how long to wait before a
// retry, or negative when a retry would not help.
func (c *completionsClient) post(ctx context.Context, body []byte) (res *completion, wait time.Duration, err error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, -1, fmt.Errorf("request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "auditlog")
	if c.apiKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, retryDelay, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		wait = -1
		if s := resp.StatusCode; s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500 {
			wait = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		return nil, wait, &statusError{status: resp.StatusCode, message: errorMessage(b)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, retryDelay, fmt.Errorf("read response: %w", err)
	}
	if len(b) > maxResponseBytes {
		return nil, -1, fmt.Errorf("a response over %d bytes", maxResponseBytes)
	}
	res = new(completion)
	if err := json.Unmarshal(b, res); err != nil {
		return nil, -1, fmt.Errorf("decode response: %w", err)
	}
	return res, 0, nil
}

// retryAfter is the wait a Retry-After header asks for (seconds or an
// HTTP date): retryDelay when it is absent or unreadable, negative when it
// is longer than maxRetryAfter.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return retryDelay
	}
	var d time.Duration
	if n, err := strconv.Atoi(h); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return retryDelay
	}
	switch {
	case d > maxRetryAfter:
		return -1
	case d < 0:
		return 0
	}
	return d
}

// errorMessage is the message of an OpenAI-style error body
// ({"error":{"message":…}}), or the start of the body as text.
func errorMessage(b []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
	}
	return cut(strings.Join(strings.Fields(msg), " "), 300)
}

// errNoChoices is a response that has no choices.
var errNoChoices = errors.New("a response without choices")
