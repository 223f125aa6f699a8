// Package people is what the cloud knows about the people and places of the
// city's volunteer work: the area tree (市 → 县/区 → 乡镇/街道 → 社区/村),
// volunteer organisations, and registered volunteers with the personal
// fields of 民政部令第67号 Art. 5, checked before they are stored.
//
// A volunteer's 身份证件号码 never reaches the database in clear: a Vault
// seals it (AES-256-GCM, bound to the volunteer's ID) and hashes it
// (HMAC-SHA256) so the same person is found again without decrypting
// anything, and a masked form (5308**********123X) is kept for display.
// The key lives in a file under the cloud's --data directory (KeyFile),
// never in the database: a copy of the database alone reveals no ID number.
//
// Import reads areas, organisations or volunteers from CSV or XLSX row by
// row, with English or Chinese column headers, and reports each refused
// row with its line and a reason in Chinese and English.
//
// What is enforced about minors (the city's plan counts "students aged 10
// and over, with a guardian's consent"): a volunteer under 18 on the day of
// registration needs guardian consent, and a school student under 10 is
// not registered.
package people
