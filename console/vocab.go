package console

// The domain's words as officials read them (../shared/GLOSSARY.md), Chinese first, by the
// code the API uses: one table, so that a page and its download say the same.
var vocab = map[string]map[string][2]string{
	"source": {"prometheus": {"监测系统", "monitoring (Prometheus)"}, "authority": {"主管部门导入", "the authority's import"},
		"provider": {"服务商月报", "the provider's report"}, "kafka": {"监测数据流", "monitoring stream (Kafka)"}},
	"kind": {"standard": {"正式资源", "standard"}, "test": {"测试资源", "test"}, "dev": {"开发资源", "dev"},
		"temporary": {"临时资源", "temporary"}, "emergency": {"应急资源", "emergency"}},
	"state": {"": {"未开始", "not started"}, "draft": {"草稿", "draft"}, "audited": {"已审核", "audited"},
		"submitted": {"已提交", "submitted"}, "paid": {"已支付", "paid"}},
	"outcome": {"matched": {"一致", "matched"}, "mismatch": {"金额不符", "mismatch"}, "missing": {"发票缺项", "missing"},
		"unexpected": {"多开项", "unexpected"}},
	"overrun": {"within": {"未超配", "within"}, "over": {"超配（≤120%）", "over (≤120 %)"}, "approved": {"已审批", "approved"},
		"violation": {"违规超配", "violation"}},
	"settle": {"run": {"生成草稿", "run"}, "audit": {"审核", "audited"}, "submit": {"提交", "submitted"}},
	"request": {"test": {"测试资源申请", "test"}, "open": {"开通", "open"}, "expand": {"扩容", "expand"}, "reduce": {"减容", "reduce"},
		"reclaim": {"回收", "reclaim"}, "extend": {"延期", "extend"}},
	"request_state": {"submitted": {"已提交", "submitted"}, "supervisor_approved": {"经信主管部门已同意", "the supervisor agreed"}, "approved": {"主管部门已批准", "the authority approved"},
		"verifying": {"验证中", "verifying"}, "verified": {"已验证", "verified"}, "rejected": {"已驳回", "rejected"},
		"fulfilled": {"已开通", "fulfilled"}, "cancelled": {"已撤回", "cancelled"}},
	"step": {"supervisor": {"经信主管部门审批", "supervisor"}, "review": {"主管部门审核", "review"}, "fulfil": {"服务商开通", "fulfil"},
		"verify": {"使用单位验证", "verify"}, "formal_open": {"正式开通", "formal opening"}, "": {"—", "—"}},
	"approval": {"active": {"有效", "active"}, "expired": {"已过期", "expired"}, "revoked": {"已撤销", "revoked"}},
	"role": {"authority": {"主管部门", "authority"}, "supervisor": {"经信主管部门", "supervisor"}, "finance": {"财政局", "finance"},
		"provider": {"云服务商", "provider"}, "department": {"使用单位", "department"}, "auditor": {"审计管理员", "auditor"}, "security": {"安全管理员", "security"}},
	"finding_kind": {"no_monitoring": {"监测数据缺失", "no monitoring data"}, "low_utilisation": {"使用率长期较低", "long-term low utilisation"},
		"zombie": {"僵尸系统", "zombie system"}},
	"finding_state": {"detected": {"待审核", "detected"}, "warned": {"警告提示", "warned"}, "dismissed": {"不予警告", "dismissed"},
		"explained": {"已提交情况说明", "explained"}, "closed": {"说明已采纳", "closed"}, "overdue": {"逾期未整改", "overdue"},
		"enforced": {"停止发放并回收", "enforced"}, "rectified": {"已整改", "rectified"}},
	"rule": {"no_monitoring_days": {"监测缺失天数", "days without monitoring"}, "low_days": {"低利用率连续天数", "low-utilisation days"},
		"low_mean_pct": {"低利用率平均值上限 %", "low mean below %"}, "low_peak_pct": {"低利用率峰值上限 %", "low peak below %"},
		"zombie_days": {"僵尸系统天数", "zombie days"}, "zombie_peak_pct": {"僵尸系统峰值上限 %", "zombie peak below %"},
		"advice_target_pct": {"调整目标利用率 %", "advice target %"}, "recover_days": {"恢复天数", "recovery days"},
		"review_working_days": {"审核期限（工作日）", "review (working days)"}, "rectify_working_days": {"整改期限（工作日）", "rectification (working days)"},
		"lateness_days": {"数据迟到容许天数", "lateness allowance (days)"}},
	"quota_class": {"vcpu": {"计算（vCPU 核）", "compute (vCPU cores)"}, "memory_gb": {"内存（GB）", "memory (GB)"},
		"storage_gb": {"存储（GB）", "storage (GB)"}, "bandwidth_mbps": {"带宽（Mbps）", "bandwidth (Mbps)"}},
	"recon_note": {"unknown project": {"台账中没有该项目", "unknown project"}, "unknown item": {"服务目录中没有该目录项", "unknown item"},
		"nothing rated": {"该月台账中没有此项费用", "nothing rated"}},
	"file_kind": {"departments": {"使用单位", "departments"}, "providers": {"云服务商", "providers"}, "projects": {"项目与配额", "projects"},
		"catalog": {"服务目录与价格", "catalog"}, "evaluations": {"效能评估得分", "evaluations"}, "events": {"资源变更与用量", "events"},
		"utilisation": {"资源利用率", "utilisation"}},
	"billing":       {"allocation": {"按分配计费", "allocation"}, "metered": {"按用量计费", "metered"}},
	"access_result": {"ok": {"成功", "ok"}, "denied": {"拒绝", "denied"}, "failed": {"失败", "failed"}},
	"op": {"allocate": {"开通", "allocate"}, "expand": {"扩容", "expand"}, "reduce": {"减容", "reduce"}, "reclaim": {"回收", "reclaim"},
		"extend": {"延期", "extend"}, "expire": {"到期回收", "expire"}, "usage": {"用量", "usage"}},
	"funding":  {"budget": {"财政预算单位", "budget-funded"}, "self": {"非预算单位（自行承担）", "self-funded"}},
	"notice":   {"account_change": {"账号或凭证变更（三员分立）", "account or credential change"}},
	"delivery": {"pending": {"待投递", "pending"}, "delivered": {"已投递", "delivered"}, "dead": {"投递失败", "not delivered"}},
	"account_status": {"active": {"有效", "active"}, "pending": {"待第二人确认", "awaiting confirmation"}, "disabled": {"已停用", "disabled"},
		"retired": {"已废止（初始凭证）", "retired (bootstrap)"}},
}

// word is a code's word in the request's language; an unknown code shows as it is.
func (rq *pageRequest) word(table, code string) string {
	if w, ok := vocab[table][code]; ok {
		return rq.t(w[0], w[1])
	}
	return code
}
