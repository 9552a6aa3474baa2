package settings

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

// Language returns the language a user sees: its own setting when the application
// supports it, else the application's default language (seed 001's precedence).
func (s *Service) Language(ctx context.Context, own string) (string, error) {
	supported, err := s.Value(ctx, SupportedLanguages)
	if err != nil {
		return "", err
	}
	if own != "" && slices.Contains(strings.Split(supported, ","), own) {
		return own, nil
	}
	return s.Value(ctx, DefaultLanguage)
}

// Pick returns the text for language from texts by language: the exact language, else
// its base language (de for de-CH), else fallback, else the first text.
func Pick(texts []LocalizedValue, language, fallback string) string {
	for _, want := range []string{language, strings.SplitN(language, "-", 2)[0], fallback} {
		for _, t := range texts {
			if strings.EqualFold(t.Language, want) {
				return t.Value
			}
		}
	}
	if len(texts) > 0 {
		return texts[0].Value
	}
	return ""
}

// AnnouncementView is the announcement as a user sees it.
type AnnouncementView struct {
	Enabled  bool
	Value    string // in the user's language
	Contents []LocalizedValue
}

// Announcement returns the announcement in the language of a user whose own language
// setting is own. Every logged-in user may read it.
func (s *Service) Announcement(ctx context.Context, own string) (*AnnouncementView, error) {
	text, err := s.Value(ctx, AnnouncementName)
	if err != nil {
		return nil, err
	}
	var a Announcement
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		return nil, err
	}
	return s.View(ctx, a, own)
}

// View returns announcement a as a user whose own language setting is own sees it.
func (s *Service) View(ctx context.Context, a Announcement, own string) (*AnnouncementView, error) {
	if a.Contents == nil {
		a.Contents = []LocalizedValue{}
	}
	v, err := s.PickFor(ctx, a.Contents, own)
	if err != nil {
		return nil, err
	}
	return &AnnouncementView{Enabled: a.Enabled, Value: v, Contents: a.Contents}, nil
}

// PickFor returns, from texts by language, the one for a user whose own language
// setting is own (Pick with the user's language and the application's).
func (s *Service) PickFor(ctx context.Context, texts []LocalizedValue, own string) (string, error) {
	lang, err := s.Language(ctx, own)
	if err != nil {
		return "", err
	}
	def, err := s.Value(ctx, DefaultLanguage)
	if err != nil {
		return "", err
	}
	return Pick(texts, lang, def), nil
}

// SetAnnouncement stores the announcement.
func (s *Service) SetAnnouncement(ctx context.Context, a Announcement) error {
	text, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.Set(ctx, map[string]string{AnnouncementName: string(text)})
}
