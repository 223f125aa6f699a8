// Package export writes what the city sends on (issue 14, records out):
// the service records in the national form, for the national volunteer
// system (全国志愿服务信息系统), and the year's statistics per area in the
// shape county offices file upward. Both come as XLSX (excelize, its
// stream writer, so a large export does not sit in memory) or CSV (UTF-8
// with a byte-order mark so that Excel reads the Chinese, or GB18030 for
// the older tools some offices use). A CSV field that begins with = + - @
// gets a leading apostrophe so that a spreadsheet shows it as text rather
// than running it as a formula.
//
// # Service records
//
// One row per record, these columns (RecordColumns), in this order:
//
//	记录编号          the cloud's record ID (tap:…, man:…, imp:…), so a
//	                  question from upstream can be traced back
//	志愿者编号        the cloud's volunteer ID (the one on the card)
//	全国志愿者编号    the 志愿者统一编号 when known, else empty
//	志愿者姓名        masked (wire.MaskName): the national system matches
//	                  on the number; the full name, ID number and phone
//	                  never leave in an export
//	活动名称, 日期 (YYYY-MM-DD), 地点, 服务内容
//	服务时间          start–end in China Standard Time, "09:00–11:30"
//	                  (the end's date too when it is another day)
//	服务时长（小时）  counted hours (the rules' hours, not the raw minutes)
//	活动组织单位, 活动负责人, 记录人
//	记录方式          刷卡 (card), 补录 (manual) or 导入 (imported)
//
// Rows come ordered by volunteer, then start. Only what passes every
// check goes out; everything else selected is listed in the left-out
// report (a second sheet of the XLSX, "未导出记录"; for CSV the JSON
// report at service-records.report.json) with its reason:
//
//	status        not final: in review, in public notice, under objection
//	              or rejected (only final records count anywhere)
//	unregistered  the volunteer is not in the register
//	shared_number the 志愿者统一编号 is held by two volunteers
//	missing       a national field is empty (named in the reason)
//	zero_hours    counted hours are zero
//	overlap       the same volunteer has a record already exported whose
//	              service time overlaps it (the earlier start is kept)
//
// Record IDs are unique by the table's key, so a record cannot go out
// twice within one export.
//
// # Statistics
//
// For an area and a year: one row per area directly below it and a
// total row (合计, the whole area) with 注册志愿者 (registered and not
// deregistered at the end of the year, or now for the current year),
// 活跃志愿者 (of those, with at least one final record dated in the
// year), 服务人次 (their final records), 服务时长（小时） (their counted
// hours), 志愿服务组织 (by linked community, or county without one) and
// 服务站点 (by community). Volunteers are counted where they live, as the
// dashboard's figures are.
package export
