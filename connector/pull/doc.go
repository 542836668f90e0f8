// Package pull reads persons and contracts straight from HR systems' JSON
// APIs (AFAS Profit GetConnectors, Microsoft Graph, Visma Raet Youforce,
// ADP Workforce Now, SAP SuccessFactors OData v2) and hands them on as rows
// of strings, one column per configured JSON path, so the connector can
// validate them exactly as it validates a CSV file.
package pull
