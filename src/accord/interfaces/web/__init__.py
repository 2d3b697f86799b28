"""Server-rendered pages in the GOV.UK Design System, over the same services as the API."""
