package graph

import (
	"github.com/portico-dev/portico/graph/model"
	"github.com/portico-dev/portico/workflow"
)

// expressProcess maps the GraphQL input onto the seed's model.
func expressProcess(in model.ExpressProcessInput) workflow.ExpressProcess {
	p := workflow.ExpressProcess{
		ID: deref(in.ID), ProcessName: in.ProcessName, ProcessDescription: deref(in.ProcessDescription),
		ProcessType: deref(in.ProcessType), ProcessPermissions: in.ProcessPermissions, ProcessOwner: deref(in.ProcessOwner),
		ProcessFolder: deref(in.ProcessFolder), ReadyToExecute: in.ReadyToExecute == nil || *in.ReadyToExecute,
		ProcessCoOwners: in.ProcessCoOwners, Icon: deref(in.Icon),
		AbleToEdit: in.AbleToEdit == nil || *in.AbleToEdit, UseDefaultUI: in.UseDefaultUI != nil && *in.UseDefaultUI, Hide: in.Hide != nil && *in.Hide,
	}
	for _, d := range in.TaskDefinitions {
		td := workflow.TaskDefinition{Type: d.Type, Responsibles: d.Responsibles, Subject: deref(d.Subject),
			Description: deref(d.Description), TaskPosition: d.TaskPosition}
		if d.UntilDays != nil {
			td.UntilDays = *d.UntilDays
		}
		for _, f := range d.FormElements {
			fe := workflow.FormElement{ElementID: f.ElementID, Label: deref(f.Label), ElementType: deref(f.ElementType),
				OptionStrs: f.OptionStrs, ElementPosition: deref(f.ElementPosition), Required: f.Required != nil && *f.Required}
			if f.IntSetting != nil {
				fe.IntSetting = *f.IntSetting
			}
			if f.IndexInPanel != nil {
				fe.IndexInPanel = *f.IndexInPanel
			}
			td.FormElements = append(td.FormElements, fe)
		}
		if e := d.Email; e != nil {
			td.Email = &workflow.Email{Recipients: deref(e.Recipients), ResponseTo: deref(e.ResponseTo),
				Subject: deref(e.Subject), Content: deref(e.Content), Attachments: e.Attachments, Empty: e.Empty != nil && *e.Empty}
		}
		p.TaskDefinitions = append(p.TaskDefinitions, td)
	}
	return p
}
