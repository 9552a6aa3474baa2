package documents

import (
	"strings"
	"testing"
)

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd":                "passwd",
		`C:\Users\x\report.pdf`:           "report.pdf",
		"re\x00po\nrt.pdf":                "re_po_rt.pdf",
		`a<b>c:d"e|f?g*h.txt`:             "a_b_c_d_e_f_g_h.txt",
		"..":                              "document",
		"  .hidden.  ":                    "hidden",
		strings.Repeat("x", 300) + ".pdf": strings.Repeat("x", 196) + ".pdf",
	} {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}
