// Package documents keeps files attached to cases: upload and delete with DocumentWrite
// (any case) or DocumentOfInvolvedCaseWrite (cases the user is involved in), reading with
// DocumentRead (any case) or for cases the user may see; a size limit, an allow-list of
// types checked against the content, sanitized names, and an optional virus scanner.
package documents

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/document"
	"github.com/portico-dev/portico/paging"
	"github.com/portico-dev/portico/policy"
)

// DefaultMaxSize is the upload limit unless configured.
const DefaultMaxSize = 10 << 20

// allowed maps the accepted file extensions to the content types their content may be
// sniffed as (http.DetectContentType); office files are zip containers.
var allowed = map[string][]string{
	".pdf": {"application/pdf"}, ".png": {"image/png"}, ".jpg": {"image/jpeg"}, ".jpeg": {"image/jpeg"},
	".gif": {"image/gif"}, ".txt": {"text/plain"}, ".csv": {"text/plain"}, ".md": {"text/plain"},
	".docx": {"application/zip"}, ".xlsx": {"application/zip"}, ".pptx": {"application/zip"},
	".odt": {"application/zip"}, ".ods": {"application/zip"}, ".zip": {"application/zip"},
}

// Scanner checks content for viruses; an error with Infected set refuses the upload.
type Scanner interface {
	Scan(ctx context.Context, content []byte) error
}

// Infected is the scanner's verdict on a bad file.
type Infected struct{ Signature string }

func (e *Infected) Error() string { return "infected: " + e.Signature }

// Service manages documents.
type Service struct {
	client  *ent.Client
	policy  *policy.Policy
	MaxSize int64
	// Scanner, when set, scans uploads while ScanEnabled says so (EnableVirusScanner).
	Scanner     Scanner
	ScanEnabled func(ctx context.Context) bool
}

// New returns the document service.
func New(client *ent.Client, p *policy.Policy) *Service {
	return &Service{client: client, policy: p, MaxSize: DefaultMaxSize}
}

// SanitizeName keeps a file name's base, without path parts, control characters or
// characters that are unsafe in file systems and headers; at most 200 bytes.
func SanitizeName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsControl(r), strings.ContainsRune(`/\:*?"<>|`, r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.Trim(strings.TrimSpace(b.String()), ".")
	for len(out) > 200 {
		ext := path.Ext(out)
		out = out[:200-len(ext)] + ext
		if len(ext) >= 200 {
			out = out[:200]
		}
	}
	if out == "" {
		out = "document"
	}
	return out
}

// mayWrite refuses uploads and deletes on a case the viewer may not change documents of.
func (s *Service) mayWrite(ctx context.Context, caseID int) (*policy.Subject, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	if sub.Has(policy.DocumentWrite) {
		if n, err := s.client.BusinessCase.Query().Where(businesscase.ID(caseID)).Count(policy.Elevate(ctx, policy.CaseOfDocuments)); err != nil || n == 0 {
			return nil, notFoundOr(err, caseID)
		}
		return sub, nil
	}
	if !sub.Has(policy.DocumentOfInvolvedCaseWrite) {
		return nil, apperr.Forbidden("this needs the permission %s or %s", policy.DocumentWrite, policy.DocumentOfInvolvedCaseWrite)
	}
	n, err := s.client.BusinessCase.Query().Where(businesscase.ID(caseID), sub.Involved()).Count(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.Forbidden("you are not involved in case %d; changing its documents needs %s", caseID, policy.DocumentWrite)
	}
	return sub, nil
}

func notFoundOr(err error, caseID int) error {
	if err != nil {
		return err
	}
	return apperr.NotFound("no case %d", caseID)
}

// Upload stores a file on a case.
func (s *Service) Upload(ctx context.Context, caseID int, name string, r io.Reader) (*ent.Document, error) {
	sub, err := s.mayWrite(ctx, caseID)
	if err != nil {
		return nil, err
	}
	content, err := io.ReadAll(io.LimitReader(r, s.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	if int64(len(content)) > s.MaxSize {
		return nil, apperr.BadInput("the file is larger than the limit of %d bytes", s.MaxSize)
	}
	if len(content) == 0 {
		return nil, apperr.BadInput("the file is empty")
	}
	name = SanitizeName(name)
	ext := strings.ToLower(path.Ext(name))
	types, ok := allowed[ext]
	if !ok {
		return nil, apperr.BadInput("files of type %q are not accepted; accepted: %s", ext, acceptedList())
	}
	sniffed := http.DetectContentType(content)
	if !matches(types, sniffed) {
		return nil, apperr.BadInput("the content of %q is %s, not what a %s file holds", name, sniffed, ext)
	}
	if s.Scanner != nil && (s.ScanEnabled == nil || s.ScanEnabled(ctx)) {
		if err := s.Scanner.Scan(ctx, content); err != nil {
			if inf, ok := err.(*Infected); ok {
				return nil, apperr.BadInput("the virus scanner refused %q: %s", name, inf.Signature)
			}
			return nil, fmt.Errorf("virus scan: %w", err)
		}
	}
	sum := sha256.Sum256(content)
	var doc *ent.Document
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		doc, err = tx.Document.Create().SetCaseID(caseID).SetUploaderID(sub.UserID).SetName(name).
			SetContentType(sniffed).SetSize(int64(len(content))).SetSha256(hex.EncodeToString(sum[:])).
			SetContent(content).Save(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store document: %w", err)
	}
	return doc, nil
}

func matches(types []string, sniffed string) bool {
	for _, t := range types {
		if strings.HasPrefix(sniffed, t) {
			return true
		}
	}
	return false
}

func acceptedList() string {
	var exts []string
	for e := range allowed {
		exts = append(exts, e)
	}
	slices.Sort(exts)
	return strings.Join(exts, " ")
}

// Delete removes a document.
func (s *Service) Delete(ctx context.Context, id int) error {
	doc, err := s.client.Document.Query().Where(document.ID(id)).Select(document.FieldCaseID).Only(policy.Elevate(ctx, policy.CaseOfDocuments))
	if ent.IsNotFound(err) {
		return apperr.NotFound("no document %d", id)
	}
	if err != nil {
		return err
	}
	if _, err := s.mayWrite(ctx, doc.CaseID); err != nil {
		return err
	}
	return database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Document.DeleteOneID(id).Exec(ctx)
	})
}

// mayRead refuses reading a case's documents: DocumentRead reads all, others those of
// cases they may see (the case query runs with the viewer's visibility).
func (s *Service) mayRead(ctx context.Context, caseID int) error {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return err
	}
	c := ctx
	if sub.Has(policy.DocumentRead) {
		c = policy.Elevate(ctx, policy.CaseOfDocuments)
	}
	n, err := s.client.BusinessCase.Query().Where(businesscase.ID(caseID)).Count(c)
	if err != nil {
		return err
	}
	if n == 0 {
		return apperr.NotFound("no case %d that you can see", caseID)
	}
	return nil
}

// List returns a case's documents (without content), oldest first.
func (s *Service) List(ctx context.Context, caseID int) ([]*ent.Document, error) {
	if err := s.mayRead(ctx, caseID); err != nil {
		return nil, err
	}
	return database.Reader(ctx, s.client).Document.Query().Where(document.CaseID(caseID)).
		Select(document.FieldCaseID, document.FieldUploaderID, document.FieldName, document.FieldContentType,
			document.FieldSize, document.FieldSha256, document.FieldCreatedAt, document.FieldUpdatedAt).
		Order(ent.Asc(document.FieldID)).All(ctx)
}

// PageWidth is the number of parts of a document cursor's key.
const PageWidth = 1

// Page pages List (a case's documents, oldest first, by id).
func (s *Service) Page(ctx context.Context, caseID int, args paging.Args) (*paging.Page[*ent.Document], error) {
	if err := s.mayRead(ctx, caseID); err != nil {
		return nil, err
	}
	ids, err := database.Reader(ctx, s.client).Document.Query().Where(document.CaseID(caseID)).IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("documents of case %d: %w", caseID, err)
	}
	slices.Sort(ids)
	key := func(id int) paging.Key { return paging.Key{int64(id)} }
	page, err := paging.Slice(ids, key, PageWidth, args)
	if err != nil {
		return nil, err
	}
	docs, err := database.Reader(ctx, s.client).Document.Query().Where(document.IDIn(page.Items...)).
		Select(document.FieldCaseID, document.FieldUploaderID, document.FieldName, document.FieldContentType,
			document.FieldSize, document.FieldSha256, document.FieldCreatedAt, document.FieldUpdatedAt).
		Order(ent.Asc(document.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("documents of case %d: %w", caseID, err)
	}
	out := &paging.Page[*ent.Document]{Items: docs, HasNextPage: page.HasNextPage, HasPreviousPage: page.HasPreviousPage, TotalCount: page.TotalCount}
	for _, d := range docs {
		out.Keys = append(out.Keys, key(d.ID))
	}
	return out, nil
}

// Content returns a document with its content, for download.
func (s *Service) Content(ctx context.Context, id int) (*ent.Document, error) {
	// The Document read rule (policy/entities.go) hides documents of cases the viewer
	// may not read them on.
	doc, err := s.client.Document.Query().Where(document.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.NotFound("no document %d", id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.mayRead(ctx, doc.CaseID); err != nil {
		if e, ok := apperr.As(err); ok && e.Code == apperr.CodeNotFound {
			return nil, apperr.NotFound("no document %d", id)
		}
		return nil, err
	}
	return doc, nil
}

// Clamd scans with a ClamAV daemon over TCP (INSTREAM).
type Clamd struct {
	Addr    string
	Timeout time.Duration
}

// Scan sends content to clamd and reads its verdict.
func (c Clamd) Scan(ctx context.Context, content []byte) error {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("clamd %s: %w", c.Addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	w := bufio.NewWriter(conn)
	w.WriteString("zINSTREAM\x00")
	for chunk := range chunks(content, 64<<10) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(chunk)))
		w.Write(n[:])
		w.Write(chunk)
	}
	w.Write([]byte{0, 0, 0, 0})
	if err := w.Flush(); err != nil {
		return fmt.Errorf("clamd send: %w", err)
	}
	reply, err := bufio.NewReader(conn).ReadString(0)
	if err != nil && err != io.EOF {
		return fmt.Errorf("clamd reply: %w", err)
	}
	reply = strings.TrimRight(reply, "\x00\n")
	switch {
	case strings.HasSuffix(reply, " OK"):
		return nil
	case strings.HasSuffix(reply, " FOUND"):
		sig := strings.TrimSuffix(strings.TrimPrefix(reply, "stream: "), " FOUND")
		return &Infected{Signature: sig}
	}
	return fmt.Errorf("clamd: %q", reply)
}

// chunks yields content in pieces of at most n bytes.
func chunks(content []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(content) > 0 {
			k := min(n, len(content))
			if !yield(content[:k]) {
				return
			}
			content = content[k:]
		}
	}
}
