package console

import (
	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The one place a code becomes the name an official reads: departments, providers,
// projects and catalog items by the names the ledger holds (the API's Directory, asked
// once per page and only when a page needs a name), quota classes by GLOSSARY.md's words.
// A page shows the name with the code small beside it (Cell.Code, Fact.Code: an element
// marked as code), so that an official filling a form still has the code.

// names are the names of the codes the signed-in account may see.
type names struct {
	dept, prov, project, item map[string]string
}

// directoryRoles may read the Directory; the security officer reads the names of the
// departments and providers alone (AccountScopes), so that no refusal is recorded on each
// of its pages (the API's table, server/authz.go, decides either way).
var directoryRoles = map[string]bool{"authority": true, "supervisor": true, "finance": true, "auditor": true, "provider": true, "department": true}

// names asks the Directory (or, for security, AccountScopes) once per page; a failure
// leaves the codes as they are.
func (rq *pageRequest) names() *names {
	if rq.dir != nil {
		return rq.dir
	}
	rq.dir = &names{dept: map[string]string{}, prov: map[string]string{}, project: map[string]string{}, item: map[string]string{}}
	if rq.con == nil || rq.me == nil {
		return rq.dir
	}
	var err error
	switch {
	case directoryRoles[rq.me.Role]:
		var res *connect.Response[v1.DirectoryResponse]
		if res, err = rq.con.ledger.Directory(rq.ctx(), connect.NewRequest(&v1.DirectoryRequest{})); err == nil {
			rq.dir.fill(res.Msg)
		}
	case rq.me.Role == "security":
		var res *connect.Response[v1.AccountScopesResponse]
		if res, err = rq.con.accounts.AccountScopes(rq.ctx(), connect.NewRequest(&v1.AccountScopesRequest{})); err == nil {
			rq.dir.fillScopes(res.Msg)
		}
	}
	if err != nil {
		rq.con.cfg.Log.Warn("console: names unavailable, codes shown", "err", err)
	}
	return rq.dir
}

// fillScopes takes the names AccountScopes answers: departments and providers only.
func (n *names) fillScopes(m *v1.AccountScopesResponse) {
	for _, d := range m.GetDepartments() {
		n.dept[d.GetId()] = d.GetName()
	}
	for _, p := range m.GetProviders() {
		n.prov[p.GetId()] = p.GetName()
	}
}

func (n *names) fill(m *v1.DirectoryResponse) {
	for _, d := range m.GetDepartments() {
		n.dept[d.GetDepartment()] = d.GetName()
	}
	for _, p := range m.GetProviders() {
		n.prov[p.GetProvider()] = p.GetName()
	}
	for _, p := range m.GetProjects() {
		n.project[p.GetProject()] = p.GetName()
	}
	for _, p := range m.GetPrices() {
		n.item[p.GetItem()] = p.GetName()
	}
}

// named is a cell of a name with its code beside it, or of the code alone when the
// ledger holds no name for it.
func named(name, code string) Cell {
	if name == "" {
		name = code
	}
	return Cell{Text: name, Code: code}
}

// deptCell, provCell, projectCell, itemCell and classCell are a code's cell.
func (rq *pageRequest) deptCell(code string) Cell    { return named(rq.names().dept[code], code) }
func (rq *pageRequest) provCell(code string) Cell    { return named(rq.names().prov[code], code) }
func (rq *pageRequest) projectCell(code string) Cell { return named(rq.names().project[code], code) }
func (rq *pageRequest) itemCell(code string) Cell    { return named(rq.names().item[code], code) }
func (rq *pageRequest) classCell(code string) Cell   { return named(rq.className(code), code) }

// optional is a code's cell, or an empty cell for no code.
func optional(cell func(string) Cell, code string) Cell {
	if code == "" {
		return C("")
	}
	return cell(code)
}

// deptName, provName are the names alone (a title, a chart's label); the code when none.
func (rq *pageRequest) deptName(code string) string { return orDefault(rq.names().dept[code], code) }
func (rq *pageRequest) provName(code string) string { return orDefault(rq.names().prov[code], code) }

// className is a quota class as officials read it (计算（vCPU 核）…); "" for a class the
// glossary does not name.
func (rq *pageRequest) className(code string) string {
	if w, ok := vocab["quota_class"][code]; ok {
		return rq.t(w[0], w[1])
	}
	return ""
}

// classOptions are the quota classes as a select's choices.
func (rq *pageRequest) classOptions() []Option {
	var out []Option
	for _, c := range quotaClasses {
		out = append(out, Option{c, rq.className(c)})
	}
	return out
}

// deptOptions are the departments the account sees, by name, as a select's choices.
func (rq *pageRequest) deptOptions() []Option {
	n := rq.names()
	var out []Option
	for _, code := range sortedKeys(n.dept) {
		out = append(out, Option{code, n.dept[code]})
	}
	return out
}

// provOptions are the providers the account sees, by name, as a select's choices.
func (rq *pageRequest) provOptions() []Option {
	n := rq.names()
	var out []Option
	for _, code := range sortedKeys(n.prov) {
		out = append(out, Option{code, n.prov[code]})
	}
	return out
}

// quotaClasses are the classes in the order the glossary gives them.
var quotaClasses = []string{"vcpu", "memory_gb", "storage_gb", "bandwidth_mbps"}
