// Echo: answers with its input and notes it in the log.
//
// Input:  anything
// Output: { "echo": <the input> }
// Needs:  nothing
export default function run(input, ctx) {
  ctx.log.info("echoing", input);
  return { echo: input };
}
