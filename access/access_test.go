package access

import (
	"net/http"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", " 192.0.2.1 ", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	many := strings.Repeat("10.1.1.1, ", 100) + "10.2.2.2"
	tests := []struct {
		name, peer  string
		xff         []string
		want        string
		wantTrusted bool
	}{
		{"untrusted peer, spoofed header", "203.0.113.5:4000", []string{"198.51.100.7"}, "203.0.113.5", false},
		{"untrusted peer, no header", "203.0.113.5:4000", nil, "203.0.113.5", false},
		{"trusted peer, forwarded", "10.0.0.2:4000", []string{"198.51.100.7"}, "198.51.100.7", true},
		{"trusted single address", "192.0.2.1:80", []string{"198.51.100.7"}, "198.51.100.7", true},
		{"rightmost untrusted wins", "10.0.0.2:4000", []string{"1.1.1.1, 198.51.100.7, 10.3.3.3"}, "198.51.100.7", true},
		{"header lines read from the last", "10.0.0.2:4000", []string{"1.1.1.1", "198.51.100.7"}, "198.51.100.7", true},
		{"trusted peer, no header", "10.0.0.2:4000", nil, "10.0.0.2", true},
		{"garbage stops at the last good hop", "10.0.0.2:4000", []string{"<script>alert(1)</script>"}, "10.0.0.2", true},
		{"garbage left of a good one", "10.0.0.2:4000", []string{"junk, 198.51.100.7"}, "198.51.100.7", true},
		{"huge entry", "10.0.0.2:4000", []string{strings.Repeat("9", 1<<20)}, "10.0.0.2", true},
		{"many trusted hops are bounded", "10.0.0.2:4000", []string{many}, "10.1.1.1", true},
		{"all trusted: the leftmost", "10.0.0.2:4000", []string{"10.9.9.9, 10.8.8.8"}, "10.9.9.9", true},
		{"with port and IPv6", "[fd00::1]:4000", []string{"[2001:db8::7]:1234"}, "2001:db8::7", true},
		{"mapped IPv4 peer", "[::ffff:10.0.0.2]:4000", []string{"198.51.100.7"}, "198.51.100.7", true},
		{"empty entries", "10.0.0.2:4000", []string{", ,"}, "10.0.0.2", true},
		{"not a TCP peer", "@", []string{"198.51.100.7"}, "@", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, trusted := proxies.Client(r)
			if got != tt.want || trusted != tt.wantTrusted {
				t.Errorf("Client = %q, %v; want %q, %v", got, trusted, tt.want, tt.wantTrusted)
			}
		})
	}
}

func TestParseProxies(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.0/8/8"} {
		if _, err := ParseProxies([]string{bad}); err == nil {
			t.Errorf("ParseProxies(%q) accepted", bad)
		}
	}
	if p, err := ParseProxies(nil); err != nil || len(p.nets) != 0 {
		t.Errorf("ParseProxies(nil) = %v, %v", p, err)
	}
}
