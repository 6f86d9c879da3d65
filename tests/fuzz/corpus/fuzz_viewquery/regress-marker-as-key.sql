-- catalog: t=@ivm_cols@
SELECT note, count(*) AS n FROM public.t GROUP BY note
