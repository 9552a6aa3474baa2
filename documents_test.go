package portico_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// upload sends uploadDocument as a GraphQL multipart request.
func upload(t *testing.T, c *servertest.Client, caseID int, name string, content []byte) *servertest.Response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{
		"query":     `mutation($c: ID!, $f: Upload!) { uploadDocument(input: {caseId: $c, file: $f}) { document { id name contentType size url } } }`,
		"variables": map[string]any{"c": caseID, "f": nil},
	})
	w.WriteField("operations", string(ops))
	w.WriteField("map", `{"0": ["variables.f"]}`)
	fw, _ := w.CreateFormFile("0", name)
	fw.Write(content)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, c.URL, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out servertest.Response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("upload response (HTTP %d): %s", resp.StatusCode, raw)
	}
	return &out
}

func download(t *testing.T, srv *servertest.Server, c *servertest.Client, url string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+url, nil)
	if c != nil {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// fakeClamd answers INSTREAM scans: FOUND for content holding EICAR, else OK.
func fakeClamd(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				if cmd, _ := r.ReadString(0); cmd != "zINSTREAM\x00" {
					return
				}
				var got []byte
				for {
					var n [4]byte
					if _, err := io.ReadFull(r, n[:]); err != nil {
						return
					}
					size := binary.BigEndian.Uint32(n[:])
					if size == 0 {
						break
					}
					chunk := make([]byte, size)
					io.ReadFull(r, chunk)
					got = append(got, chunk...)
				}
				if bytes.Contains(got, []byte("EICAR")) {
					conn.Write([]byte("stream: Eicar-Test-Signature FOUND\x00"))
					return
				}
				conn.Write([]byte("stream: OK\x00"))
			}()
		}
	}()
	return l.Addr().String()
}

func TestDocuments(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true, MaxUploadBytes: 4096, ClamdAddr: fakeClamd(t)})
		ctx := policy.SystemContext(context.Background())
		aliceID := srv.DB.Client.User.Query().Where(user.Name("alice")).OnlyIDX(ctx)
		cs := srv.DB.Client.BusinessCase.Create().SetName("docs").SetState(businesscase.StateRUNNING).SetCreatorID(aliceID).SaveX(ctx)
		admin, alice, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice"), srv.Login(t, "bob", "bob")
		pdf := []byte("%PDF-1.4\n1 0 obj << >> endobj\ntrailer\n%%EOF\n")

		var up struct {
			UploadDocument struct {
				Document struct {
					ID, Name, ContentType, URL string
					Size                       int
				}
			}
		}
		r := upload(t, alice, cs.ID, `..\\..\\etc/re|port.pdf`, pdf)
		if len(r.Errors) > 0 {
			t.Fatalf("alice's upload: %+v", r.Errors)
		}
		json.Unmarshal(r.Data, &up)
		d := up.UploadDocument.Document
		if d.Name != "re_port.pdf" || d.ContentType != "application/pdf" || d.Size != len(pdf) {
			t.Errorf("uploaded %+v", d)
		}
		// Not involved: DocumentOfInvolvedCaseWrite does not reach this case; DocumentWrite does.
		wantErr(t, upload(t, bob, cs.ID, "x.pdf", pdf), "FORBIDDEN", "not involved")
		if r := upload(t, admin, cs.ID, "notes.txt", []byte("plain notes")); len(r.Errors) > 0 {
			t.Fatalf("admin's upload: %+v", r.Errors)
		}
		// Limits: type, content, size, viruses.
		wantErr(t, upload(t, alice, cs.ID, "tool.exe", []byte("MZ...")), "BAD_USER_INPUT", "not accepted")
		wantErr(t, upload(t, alice, cs.ID, "photo.png", []byte("not a picture")), "BAD_USER_INPUT", "not what a .png file holds")
		wantErr(t, upload(t, alice, cs.ID, "big.txt", bytes.Repeat([]byte("a"), 5000)), "BAD_USER_INPUT", "larger than the limit of 4096 bytes")
		wantErr(t, upload(t, alice, cs.ID, "eicar.txt", []byte("X5O!P%@AP EICAR test")), "BAD_USER_INPUT", "Eicar-Test-Signature")
		admin.MustDo(t, `mutation { setVariable(input: {name: "EnableVirusScanner", value: "false"}) { variable { name } } }`, nil, nil)
		if r := upload(t, alice, cs.ID, "eicar.txt", []byte("X5O!P%@AP EICAR test")); len(r.Errors) > 0 {
			t.Errorf("with the scanner switched off: %+v", r.Errors)
		}

		var list struct{ Documents []struct{ Name string } }
		alice.MustDo(t, `query($c: ID!) { documents(caseId: $c) { name } }`, map[string]any{"c": cs.ID}, &list)
		if fmt.Sprint(list.Documents) != "[{re_port.pdf} {notes.txt} {eicar.txt}]" {
			t.Errorf("alice's list: %+v", list.Documents)
		}
		wantErr(t, bob.Do(t, `query($c: ID!) { documents(caseId: $c) { name } }`, map[string]any{"c": cs.ID}), "NOT_FOUND")

		status, body, h := download(t, srv, alice, d.URL)
		if status != 200 || !bytes.Equal(body, pdf) || h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Disposition"), "re_port.pdf") {
			t.Errorf("alice's download: %d %q %v", status, body, h)
		}
		if status, _, _ := download(t, srv, bob, d.URL); status != 404 {
			t.Errorf("bob's download: HTTP %d, want 404", status)
		}
		if status, _, _ := download(t, srv, nil, d.URL); status != 401 {
			t.Errorf("anonymous download: HTTP %d, want 401", status)
		}

		wantErr(t, bob.Do(t, `mutation($d: ID!) { deleteDocument(input: {id: $d}) { id } }`, map[string]any{"d": d.ID}), "FORBIDDEN")
		alice.MustDo(t, `mutation($d: ID!) { deleteDocument(input: {id: $d}) { id } }`, map[string]any{"d": d.ID}, nil)
		if status, _, _ := download(t, srv, alice, d.URL); status != 404 {
			t.Errorf("download of a deleted document: HTTP %d", status)
		}
	})
}
