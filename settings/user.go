package settings

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/policy"
)

// Channels are the notification channels a user can turn on or off.
var Channels = []string{"email", "web"}

// ChannelOn reports whether a user whose stored channel settings are stored gets
// notifications through channel: a channel the user never set is on.
func ChannelOn(stored map[string]bool, channel string) bool {
	on, set := stored[channel]
	return on || !set
}

// UserSettings are a user's own settings.
type UserSettings struct {
	// Language is the user's own setting ("" for the application default).
	Language string
	// Effective is the language the user sees.
	Effective string
	// Channels says per channel whether notifications go there.
	Channels map[string]bool
}

// Mine returns the viewer's own settings.
func (s *Service) Mine(ctx context.Context) (*UserSettings, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	u, err := database.Reader(ctx, s.client).User.Get(ctx, sub.UserID)
	if err != nil {
		return nil, fmt.Errorf("your settings: %w", err)
	}
	eff, err := s.Language(ctx, u.Language)
	if err != nil {
		return nil, err
	}
	ch := map[string]bool{}
	for _, c := range Channels {
		ch[c] = ChannelOn(u.NotificationChannels, c)
	}
	return &UserSettings{Language: u.Language, Effective: eff, Channels: ch}, nil
}

// UpdateMine changes the viewer's language (any user; "" is the application default,
// else one of the supported languages) and notification channels
// (NotificationChannelsSetting); nil leaves a setting as it is.
func (s *Service) UpdateMine(ctx context.Context, language *string, channels map[string]bool) (*UserSettings, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	if language != nil && *language != "" {
		supported, err := s.Value(ctx, SupportedLanguages)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(strings.Split(supported, ","), *language) {
			return nil, apperr.BadInput("language %q is not supported; choose one of %s, or \"\" for the application default", *language, supported)
		}
	}
	if channels != nil {
		if !sub.Has(policy.NotificationChannelsSetting) {
			return nil, apperr.Forbidden("this needs the permission %s", policy.NotificationChannelsSetting)
		}
		for c := range channels {
			if !slices.Contains(Channels, c) {
				return nil, apperr.BadInput("notification channel %q is unknown; channels: %s", c, strings.Join(Channels, ", "))
			}
		}
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		q := tx.User.UpdateOneID(sub.UserID).SetNillableLanguage(language)
		if channels != nil {
			u, err := tx.User.Get(ctx, sub.UserID)
			if err != nil {
				return err
			}
			merged := map[string]bool{}
			for k, v := range u.NotificationChannels {
				merged[k] = v
			}
			for k, v := range channels {
				merged[k] = v
			}
			q.SetNotificationChannels(merged)
		}
		return q.Exec(ctx) // a user writes its own row (policy/entities.go)
	})
	if err != nil {
		return nil, fmt.Errorf("update your settings: %w", err)
	}
	return s.Mine(ctx)
}
