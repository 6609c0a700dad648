package audit

import "context"

// A request's Meta travels in its context, so a use case several calls
// below the handler (shared/chat deciding that a grant was used) records
// where the request came from without every signature carrying it.

type metaKey struct{}

// WithMeta returns ctx carrying m.
func WithMeta(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// MetaFrom returns the Meta WithMeta put in ctx (zero if none).
func MetaFrom(ctx context.Context) Meta {
	m, _ := ctx.Value(metaKey{}).(Meta)
	return m
}
