export default function run(input) { return input; }
