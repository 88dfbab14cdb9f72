# Test scripts for the probe; source it, then run: "$H" <component> "${SCRIPTS[@]}"
SCRIPTS=(
'1+1'
'JSON.stringify({a:1,b:[1,2,{c:"x"}],d:null,e:1.5e300,f:0.1+0.2})'
'(0.1+0.2).toString() + " " + (123.456).toFixed(2) + " " + 1e21 + " " + Math.PI + " " + parseFloat("3.25e-7") + " " + (1/3).toPrecision(5) + " " + (255).toString(16)'
'typeof Date.now() + " " + (Date.now() > 1.7e12) + " " + new Date(0).toISOString() + " " + new Date(2020,0,1).toString() + " " + new Date("2024-03-10T12:34:56Z").getTime()'
'Math.random() + " " + Math.random()'
'throw new TypeError("boom")'
'/(?<y>\d{4})-(?<m>\d\d)/u.exec("on 2024-05 ok").groups.y + " " + "ÄbC".toLowerCase() + " " + "straße".toUpperCase() + " " + "é".normalize("NFD").length'
'function fib(n){return n<2?n:fib(n-1)+fib(n-2)} const a=[]; for(let i=0;i<2000;i++)a.push({i,s:"x"+i,f:i/3}); JSON.stringify({fib:fib(22),count:a.length,bytes:JSON.stringify(a).length})'
'10n**30n + " " + Math.sin(1) + " " + Math.exp(10) + " " + Math.pow(2,0.5) + " " + Math.log10(12345) + " " + Math.fround(1.1) + " " + Math.cbrt(27) + " " + Math.atan2(1,2)'
'let s="";for(let i=0;i<1e5;i++)s+=String.fromCharCode(65+i%26); s.length'
'Number("0x1f") + parseInt("077",8) + Number.parseFloat("1e-320")'
'let big=[]; try { for(;;) big.push(new Array(1e6).fill(1)); } catch(e) { String(e) }'
'function r(n){return r(n+1)+1} try { r(0) } catch(e) { "caught " + e }'
)
