package auth

import (
	"context"
	"testing"
)

// TestWatch: a watched context keeps its viewer and tells whether anything under it
// asked for the viewer, also through contexts derived from it.
func TestWatch(t *testing.T) {
	v := &Viewer{UserID: 7}
	ctx, read := Watch(NewContext(context.Background(), v))
	type k struct{}
	derived := context.WithValue(ctx, k{}, 1)
	if read() {
		t.Fatal("read before anybody asked")
	}
	IsSystem(derived)
	if read() {
		t.Fatal("IsSystem counted as asking for the viewer")
	}
	if FromContext(derived) != v || !read() {
		t.Fatal("FromContext under a watch: wrong viewer or not recorded")
	}
	anon, read := Watch(context.Background())
	if FromContext(anon) != nil || !read() {
		t.Fatal("a watch without a viewer: asking for the nobody is asking too")
	}
}
