package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent/variable"
	"github.com/portico-dev/portico/policy"
)

// TestWatchAnnouncement: subscribers cost no goroutine; a change reaches each in its
// language, a change of another variable reaches none; a subscriber that does not read
// keeps the newest changes, in order, ending with the last; cancelling closes.
func TestWatchAnnouncement(t *testing.T) {
	ctx := policy.SystemContext(context.Background())
	log := slog.New(slog.DiscardHandler)
	db, err := database.Open(ctx, "file:"+filepath.Join(t.TempDir(), "settings.db"), database.Options{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := New(db.Client, nil, log)
	// set writes a variable as a committed change does, then refreshes as Set does.
	set := func(name, value string) {
		t.Helper()
		err := db.Client.Variable.Create().SetName(name).SetValue(value).
			OnConflictColumns(variable.FieldName).UpdateValue().UpdateUpdatedAt().Exec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Refresh([]string{name}, nil)
	}
	announce := func(en, de string) {
		b, _ := json.Marshal(Announcement{Enabled: true, Contents: []LocalizedValue{{"en", en}, {"de", de}}})
		set(AnnouncementName, string(b))
	}
	idle := func() { // waits for the dispatch to finish
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			s.mu.Lock()
			busy := s.dispatching
			s.mu.Unlock()
			if !busy {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("dispatch still running after 5 s")
			}
		}
	}
	next := func(ch <-chan *AnnouncementView) *AnnouncementView {
		t.Helper()
		select {
		case v := <-ch:
			return v
		case <-time.After(5 * time.Second):
			t.Fatal("no announcement within 5 s")
			return nil
		}
	}

	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	before := runtime.NumGoroutine()
	var en, de []<-chan *AnnouncementView
	for range 100 {
		ch, err := s.WatchAnnouncement(subCtx, "")
		if err != nil {
			t.Fatal(err)
		}
		en = append(en, ch)
		if ch, err = s.WatchAnnouncement(subCtx, "de"); err != nil {
			t.Fatal(err)
		}
		de = append(de, ch)
	}
	if n := runtime.NumGoroutine() - before; n > 20 {
		t.Errorf("200 subscribers started %d goroutines", n)
	}

	announce("Downtime", "Wartung")
	for i := range en {
		if v := next(en[i]); !v.Enabled || v.Value != "Downtime" {
			t.Fatalf("default language subscriber got %+v", v)
		}
		if v := next(de[i]); v.Value != "Wartung" || len(v.Contents) != 2 {
			t.Fatalf("de subscriber got %+v", v)
		}
	}
	set(DefaultLanguage, "de") // not the announcement, but the default language's view of it
	set(ThirdPartyApps, "[]")  // nothing to do with it
	idle()
	for i := range en {
		if v := next(en[i]); v.Value != "Wartung" {
			t.Fatalf("after the default language changed: %+v", v)
		}
		if len(en[i]) != 0 || len(de[i]) != 0 {
			t.Fatalf("subscriber %d has more: %d and %d pending", i, len(en[i]), len(de[i]))
		}
	}

	// de[0] reads nothing while others do: it keeps the newest buffer's worth, in order.
	const changes = announcementBuffer + 10
	for i := range changes {
		announce(fmt.Sprint(i), fmt.Sprint(i))
		idle()
	}
	if n := len(de[0]); n != announcementBuffer {
		t.Fatalf("lagging subscriber holds %d changes, want %d", n, announcementBuffer)
	}
	for i := changes - announcementBuffer; i < changes; i++ {
		if v := next(de[0]); v.Value != fmt.Sprint(i) {
			t.Fatalf("lagging subscriber: %q, want %d", v.Value, i)
		}
	}

	// Changes that carry their value all arrive, in order, however fast they come: the
	// database (read for nothing but the final check) already has the last of them.
	for range len(de[1]) {
		<-de[1]
	}
	const burst = announcementBuffer - 2
	var texts []string
	for i := range burst {
		b, _ := json.Marshal(Announcement{Enabled: true, Contents: []LocalizedValue{{"de", fmt.Sprint("burst ", i)}}})
		texts = append(texts, string(b))
	}
	set(AnnouncementName, texts[burst-1]) // refreshes without values: the newest
	idle()
	if v := next(de[1]); v.Value != fmt.Sprint("burst ", burst-1) {
		t.Fatalf("after a change without its value: %q", v.Value)
	}
	for i := range burst {
		s.Refresh([]string{AnnouncementName}, map[string]string{AnnouncementName: texts[i]})
	}
	idle()
	for i := range burst {
		if v := next(de[1]); v.Value != fmt.Sprint("burst ", i) {
			t.Fatalf("carried change %d: got %q", i, v.Value)
		}
	}
	if n := len(de[1]); n != 0 {
		t.Fatalf("%d more after the carried changes", n)
	}

	cancel()
	for _, ch := range append(en, de...) {
		for deadline := time.After(5 * time.Second); ; {
			select {
			case _, ok := <-ch:
				if ok {
					continue
				}
			case <-deadline:
				t.Fatal("channel still open after cancel")
			}
			break
		}
	}
	s.mu.Lock()
	left := len(s.announced)
	s.mu.Unlock()
	if left != 0 {
		t.Errorf("%d subscribers left", left)
	}
}
