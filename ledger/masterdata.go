// Master data: departments, providers and projects with their quotas (departments.csv,
// providers.csv, projects.csv).

package ledger

import (
	"slices"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/shopspring/decimal"
)

const (
	TypeSetDepartment   CommandType = 2
	TypeSetProvider     CommandType = 3
	TypeSetProjectQuota CommandType = 4
)

func init() {
	register(TypeSetDepartment, "department", writesLineItem, func() Body { return new(SetDepartment) })
	register(TypeSetProvider, "provider", writesLineItem, func() Body { return new(SetProvider) })
	register(TypeSetProjectQuota, "project_quota", writesLineItem, func() Body { return new(SetProjectQuota) })
}

// SetDepartment creates or updates a department (departments.csv).
type SetDepartment struct{ Department Department }

func (*SetDepartment) Type() CommandType { return TypeSetDepartment }

func (b *SetDepartment) encode(e *encoder) {
	e.str(b.Department.ID)
	e.str(b.Department.Name)
	e.str(b.Department.Parent)
	e.str(string(b.Department.Funding))
}

func (b *SetDepartment) decode(d *decoder) {
	b.Department.ID = d.str(MaxIDLen)
	b.Department.Name = d.str(MaxTextLen)
	b.Department.Parent = d.str(MaxIDLen)
	b.Department.Funding = Funding(d.str(MaxIDLen))
}

func (b *SetDepartment) validate(rl rules) *Error {
	d := b.Department
	if err := firstErr(rl.id("department", d.ID, true), rl.text("name", d.Name, MaxTextLen), required("name", d.Name), rl.id("parent", d.Parent, false)); err != nil {
		return err
	}
	if d.Funding != FundingBudget && d.Funding != FundingSelf {
		return Errf(errcode.InvalidValue, "funding", "funding must be budget or self, not %q", d.Funding)
	}
	return nil
}

func (b *SetDepartment) apply(t *txn, _ applyContext) *Error {
	d := b.Department
	if d.Parent != "" {
		if d.Parent == d.ID {
			return Errf(errcode.InvalidValue, "parent", "department %q cannot be its own parent", d.ID)
		}
		if _, ok := t.departments.get(d.Parent); !ok {
			return Errf(errcode.UnknownDepartment, "parent", "unknown parent department %q", d.Parent)
		}
		for p, hops := d.Parent, 0; p != ""; hops++ {
			if p == d.ID || hops > 64 {
				return Errf(errcode.InvalidValue, "parent", "parent %q would make a cycle", d.Parent)
			}
			pd := must(t.departments, p, "parent department")
			p = pd.Parent
		}
	}
	if old, ok := t.departments.get(d.ID); ok && *old == d {
		return errUnchanged
	}
	t.departments.put(d.ID, &d)
	return nil
}

// SetProvider creates or updates a provider (providers.csv).
type SetProvider struct{ Provider Provider }

func (*SetProvider) Type() CommandType { return TypeSetProvider }

func (b *SetProvider) encode(e *encoder) {
	e.str(b.Provider.ID)
	e.str(b.Provider.Name)
	e.date(b.Provider.ContractStart)
	e.date(b.Provider.ContractEnd)
}

func (b *SetProvider) decode(d *decoder) {
	b.Provider.ID = d.str(MaxIDLen)
	b.Provider.Name = d.str(MaxTextLen)
	b.Provider.ContractStart = d.date()
	b.Provider.ContractEnd = d.date()
}

func (b *SetProvider) validate(rl rules) *Error {
	p := b.Provider
	if err := firstErr(rl.id("provider", p.ID, true), rl.text("name", p.Name, MaxTextLen), required("name", p.Name),
		dateInRange("contract_start", p.ContractStart), dateInRange("contract_end", p.ContractEnd)); err != nil {
		return err
	}
	if p.ContractEnd.Before(p.ContractStart) {
		return Errf(errcode.InvalidValue, "contract_end", "contract ends %s before it starts %s", p.ContractEnd, p.ContractStart)
	}
	return nil
}

func (b *SetProvider) apply(t *txn, _ applyContext) *Error {
	p := b.Provider
	if old, ok := t.providers.get(p.ID); ok && *old == p {
		return errUnchanged
	}
	t.providers.put(p.ID, &p)
	return nil
}

// SetProjectQuota creates a project or sets one quota class of it (projects.csv, a row per class).
type SetProjectQuota struct {
	Project    string
	Department string
	Name       string
	QuotaClass string
	Quota      decimal.Decimal
}

func (*SetProjectQuota) Type() CommandType { return TypeSetProjectQuota }

func (b *SetProjectQuota) encode(e *encoder) {
	e.str(b.Project)
	e.str(b.Department)
	e.str(b.Name)
	e.str(b.QuotaClass)
	e.dec(b.Quota)
}

func (b *SetProjectQuota) decode(d *decoder) {
	b.Project = d.str(MaxIDLen)
	b.Department = d.str(MaxIDLen)
	b.Name = d.str(MaxTextLen)
	b.QuotaClass = d.str(MaxIDLen)
	b.Quota = d.dec()
}

func (b *SetProjectQuota) validate(rl rules) *Error {
	return firstErr(rl.id("project", b.Project, true), rl.id("department", b.Department, true), rl.text("name", b.Name, MaxTextLen),
		required("name", b.Name), rl.id("quota_class", b.QuotaClass, true), nonNegative("quota", b.Quota))
}

func (b *SetProjectQuota) apply(t *txn, _ applyContext) *Error {
	if _, ok := t.departments.get(b.Department); !ok {
		return Errf(errcode.UnknownDepartment, "department", "unknown department %q", b.Department)
	}
	old, exists := t.projects.get(b.Project)
	if exists {
		if old.Department != b.Department {
			return Errf(errcode.ProjectMismatch, "department", "project %q belongs to department %q, not %q", b.Project, old.Department, b.Department)
		}
		if q, ok := old.Quotas[b.QuotaClass]; ok && q.Equal(b.Quota) && old.Name == b.Name {
			return errUnchanged
		}
	}
	n := &Project{ID: b.Project, Department: b.Department, Name: b.Name, Quotas: map[string]decimal.Decimal{}}
	if exists {
		n.Closed = old.Closed
		for k, v := range old.Quotas {
			n.Quotas[k] = v
		}
	} else {
		ids, _ := t.deptProjects.get(b.Department)
		ids = append(slices.Clone(ids), b.Project)
		slices.Sort(ids)
		t.deptProjects.put(b.Department, ids)
	}
	n.Quotas[b.QuotaClass] = b.Quota
	t.projects.put(n.ID, n)
	return nil
}
