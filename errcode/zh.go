package errcode

// zh is what each code means, in Chinese, for the officials who read the messages (the
// code itself never changes: scripts match on it). Every code has one (TestEveryCodeHasChinese).
var zh = map[Code]string{
	Malformed:           "格式错误，无法解析",
	MissingField:        "缺少必填字段",
	InvalidValue:        "取值不在允许范围内",
	InvalidTime:         "时间格式错误（须为带时区的 RFC 3339 时间）",
	InvalidDate:         "日期格式错误（须为 YYYY-MM-DD）",
	InvalidQuantity:     "数量或金额无效",
	TooLarge:            "超出限制",
	UnknownDepartment:   "使用单位不存在",
	UnknownProvider:     "云服务商不存在",
	UnknownProject:      "项目不存在",
	UnknownItem:         "服务项不存在",
	UnknownResource:     "资源不存在",
	ProjectMismatch:     "项目不属于该使用单位",
	ResourceMismatch:    "与资源已有信息不符",
	CatalogConflict:     "服务项的计费方式、配额类别或折算方式不可更改",
	UnknownQuotaClass:   "配额类别不存在",
	UnknownApproval:     "无对应的有效审批",
	QuotaOverrun:        "超出配额 20%，需经信主管部门审批",
	DevLimit:            "开发资源超过项目配额的 15%",
	ResourceExists:      "资源已存在",
	ResourceClosed:      "资源已回收或已到期",
	ResourceExpired:     "资源已到期",
	BelowZero:           "缩减后数量将小于零",
	OutOfOrder:          "早于该资源已有的操作时间",
	BillingMismatch:     "计费方式不符（按配置计费与按用量计费）",
	ExpiryRequired:      "此类资源须填到期时间",
	ExpiryNotAllowed:    "此类资源或操作不可填到期时间",
	ExpiryTooLong:       "到期时间超过此类资源的最长期限",
	NotTimeLimited:      "该资源没有到期时间，无需延期",
	ExtensionTooLate:    "延期申请晚于到期前 15 个工作日",
	ExtensionTooLong:    "延期超过此类资源的最长期限",
	ContractInactive:    "不在云服务商合同期内",
	PeriodClosed:        "账期已关闭（更正须记入未关闭的月份）",
	PeriodNotEnded:      "该月尚未结束，不能关账",
	CalendarUnknown:     "该年度的法定工作日历尚未载入",
	InvalidScore:        "评估得分须在 0 到 100 之间",
	InvalidBandTable:    "得分档位表无效（重叠、空档或未覆盖 0–100）",
	InvalidRange:        "日期区间的结束早于开始",
	SettlementState:     "结算年度当前状态不允许此操作",
	SettlementBlocked:   "结算年度尚不能审定",
	StaleFigures:        "计算期间台账已变化，须重新计算",
	WindowOverlap:       "结算期间与已有结算年度重叠",
	OpenMonth:           "结算期间内有未关账的月份",
	Provisional:         "有费用缺少效能评估得分（暂估）",
	DuplicateLine:       "发票中重复的行",
	Unchanged:           "未变更：台账已是此状态",
	ChainBroken:         "哈希链校验失败：台账条目被篡改、缺失或顺序被改变",
	IdempotencyConflict: "幂等键已用于不同内容",
	KafkaOffsetGap:      "Kafka 分区偏移量有缺口，记录将被跳过",
	PermissionDenied:    "无权访问：角色或范围不允许此操作",
	AccountExists:       "账号已存在",
	UnknownAccount:      "账号不存在",
	UnknownToken:        "没有该有效令牌",
	AccountDisabled:     "账号已停用",
	AccountLocked:       "账号已锁定：连续 5 次登录失败，30 分钟后再试",
	SessionExpired:      "会话已过期，请重新登录",
	PasswordPolicy:      "密码强度不足：至少 8 位，含大写、小写、数字、符号中的 3 类",
	TOTPRequired:        "须输入动态口令（TOTP）",
	TrailBroken:         "访问日志哈希链校验失败：记录被篡改、缺失或顺序被改变",
	UnknownRequest:      "申请不存在",
	RequestState:        "申请当前状态不允许此操作",
	SupervisorRequired:  "须先经经济信息化主管部门审核（超出配额20%或应急、临时资源）",
	RequestMismatch:     "开通内容与申请不符",
	Unauthenticated:     "未认证：令牌缺失或错误",
	RequestTooLarge:     "请求过大",
	Unavailable:         "服务暂不可用，请稍后重试",
	UnknownOutcome:      "结果未知：请用同一幂等键重试",
	Internal:            "内部错误",
}

// Zh is the code's meaning in Chinese, "" for a code this package does not declare.
func (c Code) Zh() string { return zh[c] }

// Describe adds Chinese meanings for codes of other parts (ledgerctl's own).
func Describe(c Code, chinese string) {
	if _, ok := zh[c]; !ok {
		zh[c] = chinese
	}
}
