package rolefile

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	n := 1 << 20
	var in string
	switch os.Getenv("CASE") {
	case "flow":
		in = "Users: [" + strings.Repeat("a,", n*4) + "]"
	case "legit":
		var b strings.Builder
		b.WriteString("Users:\n")
		for i := 0; b.Len() < n*8; i++ {
			fmt.Fprintf(&b, "  - Name: user%d\n    Password: secret%d\n    FullName: User Number %d\n    Mail: user%d@example.com\n    Roles:\n      - Team A\n      - Process M\n", i, i, i, i)
		}
		in = b.String()
	}
	t0 := time.Now()
	_, err := ParseUsersYAML(bytes.NewReader([]byte(in)))
	t.Log(len(in), time.Since(t0), err)
}
