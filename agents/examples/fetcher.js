// Fetcher: fetches a URL the manifest allows and reports what came back.
//
// Input:  { "url": "https://api.example.com/items", "json": true }
// Output: { "status": 200, "contentType": "…", "bytes": 1234, "data": … }
// Needs:  capabilities.http with the URL's host
export default async function run(input, ctx) {
  if (typeof input?.url !== "string") {
    throw new Error("give the address to fetch as input.url");
  }
  const response = await ctx.http.fetch(input.url, { headers: { accept: "application/json, text/plain;q=0.9" } });
  const contentType = response.headers["content-type"] ?? "";
  const result = { status: response.status, contentType, bytes: response.body.length };
  if (input.json || contentType.includes("json")) {
    result.data = response.json();
  } else {
    result.preview = response.body.slice(0, 500);
  }
  ctx.log.info(`GET ${input.url} → ${response.status}`);
  return result;
}
