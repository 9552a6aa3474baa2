package rolefile

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	var in string
	var err error
	t0 := time.Now()
	switch os.Getenv("CASE") {
	case "members":
		in = "<role><identifier>Everybody</identifier><roleMembers>" + strings.Repeat("<role>a</role>", (MaxBytes-100)/14) + "</roleMembers></role>"
		_, err = ParseRolesXML(bytes.NewReader([]byte(in)))
	case "userroles":
		in = "<userConfig><user><username>u</username>" + strings.Repeat("<role>a</role>", (MaxBytes-100)/14) + "</user></userConfig>"
		_, err = ParseUsersXML(bytes.NewReader([]byte(in)))
	case "comments":
		in = "<userConfig>" + strings.Repeat("<!---->", (MaxBytes-100)/7) + "</userConfig>"
		_, err = ParseUsersXML(bytes.NewReader([]byte(in)))
	}
	t.Log(len(in), time.Since(t0), err)
}
