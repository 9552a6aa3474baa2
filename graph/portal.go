package graph

import (
	"context"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/graph/model"
	"github.com/portico-dev/portico/news"
	"github.com/portico-dev/portico/settings"
)

func translationsIn(in []*model.NewsTranslationInput) []news.Translation {
	out := make([]news.Translation, len(in))
	for i, t := range in {
		out[i] = news.Translation{Language: t.Language, Title: t.Title, Content: t.Content}
	}
	return out
}

// newsText picks a news item's translation in the viewer's language.
func (r *Resolver) newsText(ctx context.Context, it *news.Item) (news.Translation, error) {
	// Pick among the languages themselves, then take that translation.
	langs := make([]settings.LocalizedValue, len(it.Translations))
	for i, t := range it.Translations {
		langs[i] = settings.LocalizedValue{Language: t.Language, Value: t.Language}
	}
	want, err := r.Settings.PickFor(ctx, langs, auth.FromContext(ctx).Language)
	if err != nil {
		return news.Translation{}, err
	}
	for _, t := range it.Translations {
		if t.Language == want {
			return t, nil
		}
	}
	return news.Translation{}, nil
}
