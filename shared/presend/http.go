package presend

// The hook as an HTTPS endpoint: POST the request as JSON, read the
// answer from a 2xx response. Any other status is an error (the policy
// applies).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxAnswer bounds what is read of the hook's answer.
const maxAnswer = 256 << 10

// HTTPCaller posts to URL.
type HTTPCaller struct {
	URL    string
	Client *http.Client // nil: http.DefaultClient (the context bounds the call)
}

// ValidateURL accepts https URLs, and http ones only when allowHTTP (the
// local stack).
func ValidateURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return fmt.Errorf("presend: PreSendHookUrl is not an absolute URL without credentials")
	}
	if u.Scheme != "https" && !(allowHTTP && u.Scheme == "http") {
		return fmt.Errorf("presend: PreSendHookUrl must be https")
	}
	return nil
}

// Call posts body.
func (c *HTTPCaller) Call(ctx context.Context, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "TokenIM-PreSendHook/1")
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("presend: hook answered %d", resp.StatusCode)
	}
	return out, nil
}
