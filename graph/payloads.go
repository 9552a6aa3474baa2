package graph

import (
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/graph/model"
)

// Payload builders: a domain call's result, or its error, as a mutation payload.

func userPayload(u *ent.User, err error) (*model.UserPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.UserPayload{User: u}, nil
}

func grantPayload(err error) (*model.GrantPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.GrantPayload{Ok: true}, nil
}

func taskPayload(t *ent.Task, err error) (*model.TaskPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.TaskPayload{Task: t}, nil
}

func casePayload(c *ent.BusinessCase, err error) (*model.CasePayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.CasePayload{Case: c}, nil
}
